// torch.save zip archives (PyTorch >= 1.6): `<archive>/data.pkl` (the pickled state dict, read by
// torch_pickle.h), `<archive>/data/<key>` (one stored entry per storage, raw little-endian
// elements), `<archive>/version`, and from torch 2.1 on `<archive>/byteorder` ("little"; absent
// means little). This joins the pickle's tensor records with the zip entries: each tensor becomes a
// RawTensor whose offset points into the zip file itself, with bounds checked against its storage.
#pragma once
#include <string>
#include <vector>

#include "kernels/io/mapped_file.h"
#include "kernels/io/raw_tensor.h"

namespace janus::io {

struct TorchZipContents {
    std::string archive;             // the folder name inside the zip ("archive", "pytorch_model", ...)
    std::vector<RawTensor> tensors;  // in pickle order; strides set for non-contiguous views
};

// Throws janus::Error "<file>: ..." on malformed zips, pickles, missing storages or views that
// reach outside their storage.
TorchZipContents parse_torch_zip(const ByteView& file);

// True when the first bytes look like a zip local file header ("PK\3\4").
bool looks_like_zip(const ByteView& file);

}  // namespace janus::io
