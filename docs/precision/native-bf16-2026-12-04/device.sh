python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .dev/whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD/.dev/fw PYTHONUNBUFFERED=1
lscpu | grep -E "Model name|Thread|Core|Socket|^CPU\(s\)|L2|L3"
grep -o -w 'avx512_bf16\|amx_bf16\|amx_tile\|avx512_vnni\|avx512_fp16\|avx512f' /proc/cpuinfo | sort | uniq -c
CPUS=$(lscpu -p=CPU,CORE | grep -v '^#' | sort -t, -k2,2n -u | head -2 | cut -d, -f1 | paste -sd,)
echo "two threads on CPUs $CPUS"
B="benchmarks/bench_speed.py --no-app --batch-data .dev/clips"
for p in fp32 bf16; do
  OMP_NUM_THREADS=2 taskset -c $CPUS python3 .dev/run.py $B --precision $p --repeats 30 --timeline-runs 2 2>&1 | tee $OUT/${p}_2threads.md
done
OMP_NUM_THREADS=2 taskset -c $CPUS python3 .dev/agree.py 2>&1 | tee $OUT/agree.txt
for p in fp32 bf16; do
  OMP_NUM_THREADS=16 python3 .dev/run.py $B --precision $p --repeats 20 --timeline-runs 1 --live-seconds 15 --batch-files 60 2>&1 | tee $OUT/${p}_16threads.md
done
