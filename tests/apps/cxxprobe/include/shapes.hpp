// A small class hierarchy in its own translation unit: virtual calls, RTTI and exceptions cross it.
#pragma once
#include <memory>
#include <stdexcept>
#include <string>

struct Shape {
    virtual ~Shape() = default;
    virtual double area() const = 0;
    virtual std::string name() const = 0;
};

struct Square : Shape {
    explicit Square(double side) : side(side) {}
    double area() const override { return side * side; }
    std::string name() const override { return "square"; }
    double side;
};

struct Circle : Shape {
    explicit Circle(double radius) : radius(radius) {}
    double area() const override;
    std::string name() const override { return "circle"; }
    double radius;
};

class ShapeError : public std::runtime_error {
public:
    ShapeError(const std::string &what, int depth) : std::runtime_error(what), depth(depth) {}
    int depth;
};

// Made from a description such as "square 3"; throws ShapeError for anything else.
std::unique_ptr<Shape> make_shape(const std::string &description);
