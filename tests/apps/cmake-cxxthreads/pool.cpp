#include "pool.h"

Pool::Pool(unsigned workers)
{
	for (unsigned i = 0; i < workers; i++)
		workers_.emplace_back([this] { work(); });
}

Pool::~Pool()
{
	{
		std::lock_guard<std::mutex> hold(lock_);
		closing_ = true;
	}
	ready_.notify_all();
	for (auto &w : workers_)
		w.join();
}

void Pool::submit(std::function<void()> task)
{
	{
		std::lock_guard<std::mutex> hold(lock_);
		tasks_.push(std::move(task));
	}
	ready_.notify_one();
}

void Pool::work()
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
