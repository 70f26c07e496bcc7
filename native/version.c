/* The shim's version, the package.json version it was built from (binding.gyp and
 * scripts/build-prebuilds.js pass it as KINJECT_VERSION). `kinject version` finds the marker
 * string in the .so file without loading it (so it also reads a prebuilt of another
 * architecture); kinject_version is the same string as an exported symbol. */
#include "kinject.h"

#ifndef KINJECT_VERSION
#define KINJECT_VERSION "unknown"
#endif

KJ_EXPORT const char kinject_version[] = KINJECT_VERSION;
/* kept in the file even if nothing references it */
__attribute__((used)) static const char kj_version_marker[] = "KINJECT_SHIM_VERSION=" KINJECT_VERSION;
