// Checks on the paths a command is given, made before any work: an output that is one of the
// command's inputs (compared by file-system identity, so ./a.h5, a link to it and its absolute
// path are one file) and an output that cannot be written (a missing parent, a read-only folder,
// a directory where a file is wanted). Hours of training must not end in an error a stat() could
// have given at the start.
#pragma once
#include <string>
#include <vector>

namespace munet {

// True when both paths exist and name the same file (same device and inode).
bool same_file(const std::string& a, const std::string& b);

// Throws when `output` (given as option `what`) is the same file as one of `inputs` (each a
// pair of its option name and path; empty paths are skipped).
void refuse_output_is_input(const std::string& what, const std::string& output,
                            const std::vector<std::pair<std::string, std::string>>& inputs);

// Throws, saying why (EACCES, "is a directory", a missing parent, a file where a folder is
// needed), when a file cannot be created or replaced at `path` (given as option `what`). Creates
// and removes a probe file beside it, so that read-only mounts and quotas are seen too.
void check_file_writable(const std::string& what, const std::string& path);

// The same for a folder that will hold files (--output of munet evolve): it must be a folder
// (or creatable under a folder) that this process can write.
void check_folder_writable(const std::string& what, const std::string& path);

}  // namespace munet
