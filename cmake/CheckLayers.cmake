# The layer check: fails when an #include runs up or sideways against the layer map in DEVELOPERS.md.
# Run as a script:  cmake -DJANUS_ROOT=<source tree> -P cmake/CheckLayers.cmake
# The build runs it before compiling anything (target janus_layers), ctest runs it again (label
# `layers`), and a planted tree under tests/data/layers/ proves that it catches a bad include.
#
# Each rule: a folder (with everything below it), then the include prefixes its files may use.
# `"x.h"` without a folder is a file next to the includer and always allowed. Every other quoted
# include must start with one of the listed prefixes; a prefix that ends in "/" is a folder.
# Forbidden wherever they would otherwise match: CPU/CUDA backend internals and CUDA's own headers
# outside kernels/ and benchmarks/ ("model code never includes CUDA headers").
cmake_minimum_required(VERSION 3.25)
if(NOT DEFINED JANUS_ROOT)
  message(FATAL_ERROR "CheckLayers.cmake: pass -DJANUS_ROOT=<source tree>")
endif()

set(rules
  "include/janus|janus/"
  "kernels|janus/,kernels/"
  "tokenizers|janus/,tokenizers/"
  "models|janus/,kernels/,models/"
  "text|janus/,kernels/,models/,text/"
  "vision|janus/,kernels/,models/,vision/"
  "pipelines|janus/,kernels/,models/,tokenizers/,text/,vision/,pipelines/"
  "benchmarks|janus/,kernels/,models/,tokenizers/,text/,vision/,pipelines/,benchmarks/"
  "samples|janus/")
# Internals no layer above kernels may reach (benchmarks measures the kernels and may).
set(model_layers models text vision pipelines tokenizers samples include/janus)
set(internal_prefixes "kernels/cpu/" "kernels/cuda/")
set(cuda_system_regex "^(cuda|cublas|cudnn|curand|cusparse|cufft|nvrtc|thrust/|cub/)")

set(violations "")
set(files_checked 0)
foreach(rule IN LISTS rules)
  string(REPLACE "|" ";" parts "${rule}")
  list(GET parts 0 layer)
  list(GET parts 1 allowed)
  string(REPLACE "," ";" allowed "${allowed}")
  file(GLOB_RECURSE sources "${JANUS_ROOT}/${layer}/*.h" "${JANUS_ROOT}/${layer}/*.hpp"
       "${JANUS_ROOT}/${layer}/*.cpp" "${JANUS_ROOT}/${layer}/*.cu" "${JANUS_ROOT}/${layer}/*.cuh")
  list(FIND model_layers "${layer}" is_model_layer)
  foreach(src IN LISTS sources)
    math(EXPR files_checked "${files_checked} + 1")
    file(RELATIVE_PATH rel "${JANUS_ROOT}" "${src}")
    file(STRINGS "${src}" lines REGEX "^[ \t]*#[ \t]*include[ \t]*[\"<]")
    foreach(line IN LISTS lines)
      if(line MATCHES "#[ \t]*include[ \t]*\"([^\"]+)\"")
        set(inc "${CMAKE_MATCH_1}")
        if(NOT inc MATCHES "/")
          continue()  # a file next to the includer
        endif()
        set(ok FALSE)
        foreach(prefix IN LISTS allowed)
          string(FIND "${inc}" "${prefix}" at)
          if(at EQUAL 0)
            set(ok TRUE)
          endif()
        endforeach()
        if(NOT ok)
          string(REPLACE ";" " " allowed_words "${allowed}")
          string(APPEND violations "  ${rel}: #include \"${inc}\" runs up or sideways"
                 " (${layer}/ may include only ${allowed_words})\n")
        elseif(is_model_layer GREATER -1)
          foreach(prefix IN LISTS internal_prefixes)
            string(FIND "${inc}" "${prefix}" at)
            if(at EQUAL 0)
              string(APPEND violations "  ${rel}: #include \"${inc}\" reaches into a backend's internals"
                     " (${layer}/ uses kernels/backend.h and the op table, never ${prefix})\n")
            endif()
          endforeach()
        endif()
      elseif(is_model_layer GREATER -1 AND line MATCHES "#[ \t]*include[ \t]*<([^>]+)>")
        set(sys "${CMAKE_MATCH_1}")
        if(sys MATCHES "${cuda_system_regex}")
          string(APPEND violations "  ${rel}: #include <${sys}> (model code never includes CUDA headers;"
                 " go through kernels/backend.h)\n")
        endif()
      endif()
    endforeach()
  endforeach()
endforeach()

if(files_checked EQUAL 0)
  message(FATAL_ERROR "layer check: no source files found under ${JANUS_ROOT} — wrong JANUS_ROOT?")
endif()
if(violations)
  message(FATAL_ERROR "layer check: includes against the layer map (DEVELOPERS.md, 'Layers'):\n"
          "${violations}Move the code to the layer that may use it, or pass what it needs down as a parameter.")
endif()
message(STATUS "layer check: ${files_checked} files, every include follows the layer map")
