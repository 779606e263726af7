# Optional CUDA backend. JANUS_CUDA=AUTO builds it when a CUDA toolkit is found, ON requires it, OFF
# skips it. The CPU build never needs CUDA. CI compiles for one architecture (JANUS_CUDA_ARCHS=90a).
# Needs nvcc >= 12 (C++20 device code); developed with CUDA 13.0.
set(JANUS_HAVE_CUDA OFF)
if(NOT JANUS_CUDA STREQUAL "OFF")
  if(NOT CMAKE_CUDA_COMPILER AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
  endif()
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    # Default: the GPU of this machine when there is one; otherwise sm_80 (its machine code also runs
    # on sm_86/sm_89) and sm_90a (Hopper). Each architecture is one more device compile of every .cu.
    if(NOT DEFINED CACHE{JANUS_CUDA_ARCHS})
      set(_janus_archs "80;90a")
      execute_process(COMMAND nvidia-smi --query-gpu=compute_cap --format=csv,noheader
                      OUTPUT_VARIABLE _janus_cap RESULT_VARIABLE _janus_rc ERROR_QUIET TIMEOUT 10)
      if(_janus_rc EQUAL 0 AND _janus_cap MATCHES "^([0-9]+)\\.([0-9]+)")
        set(_janus_archs "${CMAKE_MATCH_1}${CMAKE_MATCH_2}")
        if(_janus_archs STREQUAL "90")
          set(_janus_archs "90a")
        endif()
      endif()
      set(JANUS_CUDA_ARCHS "${_janus_archs}" CACHE STRING "CUDA architectures to compile for")
    endif()
    set(CMAKE_CUDA_ARCHITECTURES ${JANUS_CUDA_ARCHS})
    enable_language(CUDA)
    find_package(CUDAToolkit REQUIRED)
    set(JANUS_HAVE_CUDA ON)
  elseif(JANUS_CUDA STREQUAL "ON")
    message(FATAL_ERROR "JANUS_CUDA=ON but no CUDA compiler was found (set CMAKE_CUDA_COMPILER)")
  endif()
endif()
if(JANUS_HAVE_CUDA)
  # CMake 3.25 does not know nvcc's C++20 flag (nvcc >= 12 has it); the shared headers need C++20.
  if(NOT DEFINED CMAKE_CUDA20_STANDARD_COMPILE_OPTION OR CMAKE_CUDA20_STANDARD_COMPILE_OPTION STREQUAL "")
    set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
    set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
  endif()
  set(CMAKE_CUDA_STANDARD 20)
  file(GLOB JANUS_CUDA_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/kernels/cuda/*.cu
       ${CMAKE_SOURCE_DIR}/kernels/cuda/*.cpp)
  add_library(janus_cuda STATIC ${JANUS_CUDA_SOURCES})
  target_include_directories(janus_cuda PUBLIC ${CMAKE_SOURCE_DIR}/include ${CMAKE_SOURCE_DIR})
  # Static cudart: a binary runs on machines without libcudart.so and, with no driver, simply finds
  # no device (cuda_device_count() == 0). cuBLAS is the only shared CUDA library needed at run time.
  target_link_libraries(janus_cuda PUBLIC CUDA::cudart_static CUDA::cublas CUDA::cublasLt)
  # janus_cuda uses the kernels layer (tensor, dtype, backend interface; no model types) and janus_kernels links
  # janus_cuda (the backend registry): a cycle of static libraries, which CMake resolves by repeating
  # them on the link line.
  target_link_libraries(janus_cuda PUBLIC janus_kernels)
  set_property(TARGET janus_cuda PROPERTY LINK_INTERFACE_MULTIPLICITY 2)
  target_compile_options(janus_cuda PRIVATE
    $<$<COMPILE_LANGUAGE:CUDA>:--expt-relaxed-constexpr --extended-lambda -lineinfo>)
  # JANUS_CUDA_TIME_COMPILE=ON prints per-phase nvcc times (for keeping the CUDA build lean).
  if(JANUS_CUDA_TIME_COMPILE)
    target_compile_options(janus_cuda PRIVATE $<$<COMPILE_LANGUAGE:CUDA>:--time=${CMAKE_BINARY_DIR}/nvcc-time.csv>)
  endif()
  message(STATUS "janus: CUDA backend ON (archs ${JANUS_CUDA_ARCHS})")
else()
  message(STATUS "janus: CUDA backend OFF")
endif()
