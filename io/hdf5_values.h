// Reading and writing the small things munet's HDF5 files hold besides parameters: scalar and
// list attributes (integers, floats, UTF-8 strings) and 1-D / 2-D table columns, each read
// with a check of its type and shape that names the file and the object when it fails.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "io/hdf5_handles.h"

namespace munet::h5 {

// Where an object lives, for messages: the file and the object's path in it.
struct Where {
  const std::string& file;
  std::string object;  // e.g. "/models"
};

void write_attr(hid_t obj, const char* name, int64_t v, const Where& w);
void write_attr(hid_t obj, const char* name, double v, const Where& w);
void write_attr(hid_t obj, const char* name, const std::string& v, const Where& w);
void write_attr(hid_t obj, const char* name, const std::vector<std::string>& v, const Where& w);
void write_attr(hid_t obj, const char* name, const std::vector<int64_t>& v, const Where& w);

bool has_attr(hid_t obj, const char* name);
int64_t read_int_attr(hid_t obj, const char* name, const Where& w);
double read_double_attr(hid_t obj, const char* name, const Where& w);
std::vector<std::string> read_strings_attr(hid_t obj, const char* name, const Where& w);
std::string read_string_attr(hid_t obj, const char* name, const Where& w);
std::vector<int64_t> read_ints_attr(hid_t obj, const char* name, const Where& w);

// Table columns: 1-D datasets (strings as variable-length UTF-8).
void write_column(hid_t group, const char* name, const std::vector<int64_t>& v, const Where& w);
void write_column(hid_t group, const char* name, const std::vector<double>& v, const Where& w);
void write_column(hid_t group, const char* name, const std::vector<std::string>& v, const Where& w);
// A row-major [rows, cols] float64 matrix.
void write_matrix(hid_t group, const char* name, const std::vector<double>& v, int64_t rows, int64_t cols,
                  const Where& w);

// Reads a column; `length` >= 0 requires exactly that many entries.
std::vector<int64_t> read_int_column(hid_t group, const char* name, int64_t length, const Where& w);
std::vector<double> read_double_column(hid_t group, const char* name, int64_t length, const Where& w);
std::vector<std::string> read_string_column(hid_t group, const char* name, int64_t length, const Where& w);
std::vector<double> read_matrix(hid_t group, const char* name, int64_t rows, int64_t cols, const Where& w);

// Opens a group or dataset that must exist (an error names it otherwise).
Handle open_group(hid_t parent, const std::string& name, const Where& w);
Handle open_dataset(hid_t parent, const std::string& name, const Where& w);
// The dataset's dimensions.
std::vector<hsize_t> dims_of(hid_t dataset, const Where& w);
// True when every group along `path` (relative to parent) exists.
bool path_exists(hid_t parent, const std::string& path);

}  // namespace munet::h5
