// Compiled with one layer's include root (build/layers/<layer>) and -DHEADER=<...>: the layering
// tests expect an allowed header to compile and a header of a higher layer to fail.
#include HEADER
