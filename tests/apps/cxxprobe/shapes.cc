#include "shapes.hpp"

#include <sstream>

double Circle::area() const { return 3.0 * radius * radius; }

// Three frames below make_shape's caller when it throws: parse -> check -> fail.
[[gnu::noinline]] static void fail(const std::string &what) { throw ShapeError("bad shape: " + what, 3); }

[[gnu::noinline]] static double check(double size, const std::string &what)
{
    if (!(size > 0))
        fail(what);
    return size;
}

std::unique_ptr<Shape> make_shape(const std::string &description)
{
    std::istringstream in(description);
    std::string kind;
    double size = 0;
    in >> kind >> size;
    if (kind == "square")
        return std::make_unique<Square>(check(size, description));
    if (kind == "circle")
        return std::make_unique<Circle>(check(size, description));
    fail(description);
    return nullptr;
}
