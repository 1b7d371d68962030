// A thread pool in standard C++: workers take tasks from a queue under a mutex and wait on a condition variable;
// each task throws and catches in its own thread; thread_local counts per worker; a static local initialized by
// threads racing; std::atomic wait and notify; std::async returns a value.
// Prints "NAME: ..." lines, with FAIL where C++ promises otherwise.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <future>
#include <mutex>
#include <queue>
#include <stdexcept>
#include <thread>
#include <vector>

class Pool {
public:
	explicit Pool(unsigned n)
	{
		for (unsigned i = 0; i < n; i++)
			workers_.emplace_back([this] { work(); });
	}
	~Pool()
	{
		{
			std::lock_guard<std::mutex> hold(lock_);
			closing_ = true;
		}
		ready_.notify_all();
		for (auto &w : workers_)
			w.join();
	}
	void submit(std::function<void()> task)
	{
		{
			std::lock_guard<std::mutex> hold(lock_);
			tasks_.push(std::move(task));
		}
		ready_.notify_one();
	}

private:
	void work()
	{
		for (;;) {
			std::function<void()> task;
			{
				std::unique_lock<std::mutex> hold(lock_);
				ready_.wait(hold, [this] { return closing_ || !tasks_.empty(); });
				if (tasks_.empty())
					return;
				task = std::move(tasks_.front());
				tasks_.pop();
			}
			task();
		}
	}
	std::vector<std::thread> workers_;
	std::queue<std::function<void()>> tasks_;
	std::mutex lock_;
	std::condition_variable ready_;
	bool closing_ = false;
};

static thread_local int done_here;
static std::mutex totals_lock;
static long total;
static std::atomic<int> caught, workers_seen;

static std::atomic<int> initialized;

static int slow_init()
{
	std::this_thread::sleep_for(std::chrono::milliseconds(20));     // the others wait in the guard meanwhile
	return ++initialized;
}

static int shared_value()
{
	static int value = slow_init();
	return value;
}

int main()
{
	std::setvbuf(stdout, nullptr, _IONBF, 0);
	enum { WORKERS = 4, TASKS = 400 };
	{
		Pool pool(WORKERS);
		for (int i = 1; i <= TASKS; i++)
			pool.submit([i] {
				try {
					if (i % 4 == 0)
						throw std::runtime_error("task " + std::to_string(i));
				} catch (const std::runtime_error &e) {
					caught++;
				}
				if (done_here++ == 0)
					workers_seen++;
				std::lock_guard<std::mutex> hold(totals_lock);
				total += i;
			});
	}
	long want = (long)TASKS * (TASKS + 1) / 2;
	std::printf("pool: %s%d tasks on %d workers, sum %ld, %d exceptions caught in their threads\n",
		    total == want && caught == TASKS / 4 ? "" : "FAIL ", TASKS, WORKERS, total, caught.load());
	std::printf("thread_local: %seach worker counted its own tasks (%s), main's count %d\n",
		    workers_seen >= 1 && workers_seen <= WORKERS && done_here == 0 ? "" : "FAIL ",
		    workers_seen >= 1 && workers_seen <= WORKERS ? "1 to 4 counters" : "wrong", done_here);

	std::vector<std::thread> racers;
	std::atomic<int> ones{0};
	for (int i = 0; i < 4; i++)
		racers.emplace_back([&ones] { ones += shared_value() == 1; });
	for (auto &t : racers)
		t.join();
	std::printf("static local: %sinitialized once for 4 threads at once (%d), each saw it\n",
		    initialized == 1 && ones == 4 ? "" : "FAIL ", initialized.load());

	std::atomic<int> go{0};
	std::thread waiter([&go] { go.wait(0); });
	std::this_thread::sleep_for(std::chrono::milliseconds(20));
	go = 1;
	go.notify_all();
	waiter.join();
	std::printf("atomic wait: a thread waited for a value and was notified\n");

	auto answer = std::async(std::launch::async, [] { return 6 * 7; });
	std::printf("async: %s%d\n", answer.get() == 42 ? "" : "FAIL ", 42);

	auto t0 = std::chrono::steady_clock::now();
	std::thread sleeper([] { std::this_thread::sleep_for(std::chrono::milliseconds(50)); });
	sleeper.join();
	auto slept = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
	std::printf("sleep_for: %sa thread slept at least 50 ms\n", slept.count() >= 50 ? "" : "FAIL ");
	std::printf("hardware_concurrency: %u\n", std::thread::hardware_concurrency());
	return 0;
}
