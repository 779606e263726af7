// GraphCapture: RAII scope for Backend::begin_capture()/end_capture(). The constructor starts a
// capture when asked and the backend records graphs (CUDA); commit() ends it and keeps the recording;
// leaving the scope any other way (an exception from an op, an early return) aborts the capture, so
// the backend is never left capturing and stays usable:
//     GraphCapture cap(be, want_graphs);
//     step();                              // ops are recorded when cap.active()
//     if (cap.commit()) be.replay();       // commit() is false where nothing was recorded (CPU)
#pragma once
#include "kernels/backend.h"

namespace janus {

class GraphCapture {
public:
    explicit GraphCapture(Backend& be, bool want = true) : be_(&be), active_(want && be.begin_capture()) {}
    ~GraphCapture() {
        if (active_) be_->abort_capture();
    }
    GraphCapture(const GraphCapture&) = delete;
    GraphCapture& operator=(const GraphCapture&) = delete;

    bool active() const { return active_; }
    // Ends the capture and keeps the recording; returns whether there was one to keep. end_capture()
    // may throw (e.g. an op inside was not capturable): the capture is over either way.
    bool commit() {
        if (!active_) return false;
        active_ = false;
        try {
            be_->end_capture();
        } catch (...) {
            be_->abort_capture();  // no-op when end_capture() already ended it
            throw;
        }
        return true;
    }

private:
    Backend* be_;
    bool active_;
};

}  // namespace janus
