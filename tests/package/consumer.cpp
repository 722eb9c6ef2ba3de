// A program outside zoo that uses the installed package: find_package(zoo), zoo::zoo.
#include <iostream>

#include "data/toy.h"

int main() { std::cout << zoo::data::sample_toy("moons", 4, 0).sizes() << std::endl; }
