// Publishing a finished file crash-safely: fsync it, rename it over its final name, fsync the
// folder. A reader then sees either the previous file or the complete new one, never a part.
#pragma once
#include <string>

namespace munet {

void publish_file(const std::string& tmp, const std::string& path);

// A temporary name beside `path`, unique to this process.
std::string temporary_name(const std::string& path);

}  // namespace munet
