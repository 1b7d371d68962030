// What a C++ program expects of its runtime, one behaviour per argument (all of them without one); each prints what
// it saw, and FAIL where that is not what C++ promises. tests/integration/test_cxx.py reads the lines.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <string>
#include <typeinfo>
#include <vector>

#include "checksum.h"
#include "shapes.hpp"

static int failures;

static void expect(bool ok, const char *what)
{
    if (!ok) {
        std::cout << "FAIL: " << what << std::endl;
        failures++;
    }
}

// A static object: its constructor runs before main, its destructor at exit (after main returns).
struct Lifetime {
    Lifetime() : constructed(true) { std::printf("static: constructed before main\n"); }
    ~Lifetime() { std::printf("static: destroyed at exit\n"); }
    bool constructed;
};
static Lifetime lifetime;

// A local whose destructor must run while an exception passes through its frame.
static int unwound;
struct Guard {
    ~Guard() { unwound++; }
};

[[gnu::noinline]] static void middle(const char *description)
{
    Guard guard;
    make_shape(description);
    expect(false, "no exception from make_shape");
}

static void exceptions()
{
    try {
        middle("square -1");
    } catch (const std::runtime_error &e) {
        const ShapeError *error = dynamic_cast<const ShapeError *>(&e);
        std::cout << "exceptions: caught '" << e.what() << "' from " << (error ? error->depth : -1)
                  << " frames down, " << unwound << " destructor ran on the way" << std::endl;
    }
    try {
        // Kept in a volatile: the compiler may drop a new whose memory nobody uses.
        static char *volatile kept;
        volatile size_t huge = SIZE_MAX / 2;
        kept = new char[huge];
        expect(false, "new of half the address space succeeded");
        delete[] kept;
    } catch (const std::bad_alloc &) {
        std::cout << "exceptions: std::bad_alloc from new" << std::endl;
    }
    try {
        std::vector<int> v(3);
        v.at(7) = 1;
    } catch (const std::out_of_range &) {
        std::cout << "exceptions: std::out_of_range from vector::at" << std::endl;
    }
    try {
        throw 42;
    } catch (int n) {
        std::cout << "exceptions: caught int " << n << std::endl;
    }
}

static void rtti()
{
    std::vector<std::unique_ptr<Shape>> shapes;
    shapes.push_back(make_shape("square 3"));
    shapes.push_back(make_shape("circle 2"));
    for (const auto &shape : shapes) {
        const Shape &s = *shape;
        bool is_square = dynamic_cast<const Square *>(&s) != nullptr;
        std::cout << "rtti: " << s.name() << " typeid=" << typeid(s).name() << " square=" << is_square
                  << " area=" << s.area() << std::endl;
    }
    try {
        const Shape &s = *shapes[1];
        (void)dynamic_cast<const Square &>(s);
    } catch (const std::bad_cast &) {
        std::cout << "rtti: std::bad_cast from a reference cast" << std::endl;
    }
}

static void containers()
{
    std::map<std::string, int> counts;
    std::string text = "the quick brown fox jumps over the lazy dog the end";
    std::string word;
    for (char c : text + " ") {
        if (c == ' ') {
            if (!word.empty())
                counts[word]++;
            word.clear();
        } else {
            word += c;
        }
    }
    // map::contains is C++20 (cxxflags); checksum() is C.
    std::cout << "containers: " << counts.size() << " words, the=" << counts["the"] << ", first="
              << counts.begin()->first << ", last=" << counts.rbegin()->first << ", has fox=" << counts.contains("fox")
              << ", checksum=" << checksum(text.c_str()) << std::endl;
    std::vector<std::string> long_strings;
    for (int i = 0; i < 100; i++)
        long_strings.push_back(std::string(100 + i, 'a' + i % 26));
    size_t total = 0;
    for (const auto &s : long_strings)
        total += s.size();
    std::cout << "containers: 100 strings, " << total << " bytes" << std::endl;
}

static void iostreams()
{
    std::cout << "iostream: " << 42 << ' ' << 2.5 << ' ' << std::hex << 255 << std::dec << ' ' << std::boolalpha
              << true << std::endl;
    std::cerr << "iostream: to std::cerr" << std::endl;
}

static void chrono()
{
    using namespace std::chrono;
    auto start = steady_clock::now();
    auto wall = system_clock::now();
    volatile unsigned long spin = 0;
    for (unsigned long i = 0; i < 1000000; i++)
        spin = spin + i;
    auto elapsed = duration_cast<microseconds>(steady_clock::now() - start).count();
    long long year_seconds = duration_cast<seconds>(wall.time_since_epoch()).count();
    std::cout << "chrono: steady clock advanced=" << (elapsed > 0) << " system clock after 2020="
              << (year_seconds > 1577836800LL) << std::endl;
}

static void uncaught()
{
    std::cout << "uncaught: throwing" << std::endl;
    make_shape("triangle 1");
}

int main(int argc, char **argv)
{
    std::string what = argc > 1 ? argv[1] : "all";
    expect(lifetime.constructed, "the static object was not constructed before main");
    std::map<std::string, void (*)()> behaviours = {
        {"exceptions", exceptions}, {"rtti", rtti}, {"containers", containers},
        {"iostream", iostreams}, {"chrono", chrono}, {"uncaught", uncaught},
    };
    if (what == "all") {
        for (const auto &name : {"exceptions", "rtti", "containers", "iostream", "chrono"})
            behaviours[name]();
    } else if (behaviours.count(what)) {
        behaviours[what]();
    } else {
        std::cout << "FAIL: unknown behaviour " << what << std::endl;
        return 2;
    }
    std::cout << "main: returning" << std::endl;
    return failures ? 1 : 0;
}
