# Sourced by the peer benchmarks: writes $data/llama1b.json (Llama-3.2-1B's shape, vocab 32000)
# and its f32 and f16 GGUF files with synthetic weights (`anatomy convert`), once.
data=build/bench-data
mkdir -p "$data"
python3 -c "import json; c=json.load(open('catalog/llama-3.2-1b.json')); c.pop('anatomy_catalog'); c['vocab_size']=32000; json.dump(c, open('$data/llama1b.json','w'))"
for dt in f32 f16; do
  [ -f "$data/llama1b-$dt.gguf" ] || build/anatomy convert "$data/llama1b.json" --gguf "$data/llama1b-$dt.gguf" --dtype $dt >/dev/null
done
