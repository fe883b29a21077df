python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .dev/whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD/.dev/fw PYTHONUNBUFFERED=1
CPUS=$(lscpu -p=CPU,CORE | grep -v '^#' | sort -t, -k2,2n -u | head -2 | cut -d, -f1 | paste -sd,)
export OMP_NUM_THREADS=2
taskset -c $CPUS python3 .dev/run.py benchmarks/bench_precision.py --clip assets/examples/03-01-03-02-02-01-03.wav --repeats 40 2>&1 | tee $OUT/precision_2threads.txt
B="benchmarks/bench_speed.py --no-app --batch-data .dev/clips"
for p in bf16 fp32; do
  taskset -c $CPUS python3 .dev/run.py $B --precision $p --repeats 30 --timeline-runs 2 2>&1 | tee $OUT/${p}_2threads_b.md
done
