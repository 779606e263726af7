# Third-party dependencies, all from Debian 12 packages (scripts/setup installs them).
find_package(Threads REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(CLI11 REQUIRED)
find_package(OpenCV REQUIRED COMPONENTS core imgproc imgcodecs)
find_package(PNG REQUIRED)
find_package(ZLIB REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(UTF8PROC REQUIRED IMPORTED_TARGET libutf8proc)
pkg_check_modules(ONIG REQUIRED IMPORTED_TARGET oniguruma)
find_path(STB_INCLUDE_DIR stb_image.h PATH_SUFFIXES stb REQUIRED)
find_path(HTTPLIB_INCLUDE_DIR httplib.h REQUIRED)
# Debian's cpp-httplib 0.11 is split: declarations in httplib.h, the code in libcpp-httplib.so.
find_library(HTTPLIB_LIBRARY cpp-httplib REQUIRED)

add_library(janus_deps INTERFACE)
target_include_directories(janus_deps INTERFACE ${STB_INCLUDE_DIR} ${HTTPLIB_INCLUDE_DIR})
target_link_libraries(janus_deps INTERFACE
  Threads::Threads nlohmann_json::nlohmann_json CLI11::CLI11
  opencv_core opencv_imgproc opencv_imgcodecs PNG::PNG ZLIB::ZLIB
  PkgConfig::UTF8PROC PkgConfig::ONIG ${HTTPLIB_LIBRARY})
target_include_directories(janus_deps SYSTEM INTERFACE ${OpenCV_INCLUDE_DIRS})
