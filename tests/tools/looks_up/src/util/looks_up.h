// A util header that looks up at evo: include_graph.py must refuse it (tests/CMakeLists.txt).
#pragma once
#include "evo/evolution.h"
