// Built by CMake with uniforge's toolchain file: squares 1..N on a thread pool, each task adding under a mutex,
// and checks the sum against n(n+1)(2n+1)/6. Prints one line, with FAIL where the result is wrong.
#include <cstdio>
#include <mutex>

#include "pool.h"

int main()
{
	enum { WORKERS = 4, TASKS = 1000 };
	std::mutex lock;
	long sum = 0;
	{
		Pool pool(WORKERS);
		for (long i = 1; i <= TASKS; i++)
			pool.submit([i, &lock, &sum] {
				std::lock_guard<std::mutex> hold(lock);
				sum += i * i;
			});
	}
	long want = (long)TASKS * (TASKS + 1) * (2 * TASKS + 1) / 6;
	std::printf("cmake-cxxthreads: %s, std::thread runs in configure %d\n", report(sum, want, WORKERS).c_str(),
		    STD_THREAD_RUNS);
	return 0;
}
