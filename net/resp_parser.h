// Forwarding header, kept only while node/ still includes the old path; the
// codec lives in net/resp/. Remove once node/ includes net/resp/resp_parser.h.
#pragma once

#include "net/resp/resp_parser.h"
