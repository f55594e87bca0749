// The whalefeed version, from the CMake project version.
#ifndef WHALEFEED_COMMON_VERSION_H_
#define WHALEFEED_COMMON_VERSION_H_

namespace whalefeed {

inline constexpr char kVersion[] = WHALEFEED_VERSION;

}  // namespace whalefeed

#endif  // WHALEFEED_COMMON_VERSION_H_
