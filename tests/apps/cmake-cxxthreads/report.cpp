// No thread header here: this source and pool.cpp are compiled in the same libc++ configuration all the same.
#include <string>

std::string report(long sum, long want, int workers)
{
	return std::string(sum == want ? "" : "FAIL ") + "sum of squares " + std::to_string(sum) + " on " +
	       std::to_string(workers) + " workers";
}
