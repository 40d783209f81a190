"""mpi4py's side of the MPI figures: MPIPoolExecutor.map with 2 worker ranks.
Run: mpiexec -n 3 /usr/bin/python3 -m mpi4py.futures mpi_pool_bench.py <figure> <n>
(Debian's python3-mpi4py is installed for /usr/bin/python3.)

pool_map: map(square, range(n), chunksize=n // 8), items/s (the anchor's
figure in shared/anchors/mpi4py_futures_bench.py). mpi_map_1MiB: map over n
bytes objects of 1 MiB, each task returning its length, B/s of input.
"""
import json
import sys
import time

from mpi4py.futures import MPIPoolExecutor


def square(x):
    return x * x


def size_of(b):
    return len(b) + b[-1]


def main():
    figure, n = sys.argv[1], int(sys.argv[2])
    with MPIPoolExecutor() as ex:
        list(ex.map(square, range(1000)))  # workers started and warm
        chunk = max(1, n // 8)
        if figure != "pool_map":
            # Distinct objects: pickle would send one shared object once per chunk.
            items = [bytes([i & 0xff]) * ((1 << 20) - 1) + b"\x07" for i in range(n)]
        t0 = time.perf_counter()
        if figure == "pool_map":
            r = list(ex.map(square, range(n), chunksize=chunk))
            assert r[-1] == (n - 1) ** 2
            value, unit = n / (time.perf_counter() - t0), "items/s"
        else:
            r = list(ex.map(size_of, items, chunksize=chunk))
            assert r[-1] == (1 << 20) + 7
            value, unit = n * (1 << 20) / (time.perf_counter() - t0), "B/s"
    print(json.dumps({"figure": figure, "unit": unit, "value": value}))


if __name__ == "__main__":
    main()
