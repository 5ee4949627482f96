// Ops: each checks its inputs (errors name the op and the shapes), computes the output shape,
// reports its cost under the conventions of ARCHITECTURES.md §2 to the context's observers, then
// hands the work to the context's backend. Activations are F32 [B, T, C] row-major; weights keep
// their stored dtype (F32, BF16, F16). ops/ does no arithmetic. One file per op family; a backward
// pass will sit beside each forward.
#pragma once

#include "ops/attention.h"
#include "ops/cache.h"
#include "ops/context.h"
#include "ops/conv.h"
#include "ops/elementwise.h"
#include "ops/embedding.h"
#include "ops/linear.h"
#include "ops/loss.h"
#include "ops/norm.h"
#include "ops/ssm.h"
