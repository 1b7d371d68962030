// A fixed set of std::thread workers taking tasks from a queue under a std::mutex, waiting on a
// std::condition_variable; the destructor lets them finish the queue and joins them.
#include <condition_variable>
#include <functional>
#include <mutex>
#include <queue>
#include <string>
#include <thread>
#include <vector>

class Pool {
public:
	explicit Pool(unsigned workers);
	~Pool();
	void submit(std::function<void()> task);

private:
	void work();
	std::vector<std::thread> workers_;
	std::queue<std::function<void()>> tasks_;
	std::mutex lock_;
	std::condition_variable ready_;
	bool closing_ = false;
};

// In report.cpp, which includes no thread header.
std::string report(long sum, long want, int workers);
