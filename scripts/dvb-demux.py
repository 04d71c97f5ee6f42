#!/usr/bin/env python3
# The Linux DVB demux's hardware PID filter and the dvr device, for one tuner of headend
# (src/headend/tuners/dvb/run.ts starts it once dvbv5-zap reports a lock).
#
#   dvb-demux.py ADAPTER_DIR DEMUX        e.g. dvb-demux.py /dev/dvb/adapter0 0
#   stdin:  lines "pids 0 1 16 17 18 20 256 257"   the PIDs to pass (each line replaces the set)
#   stdout: the transport stream read from ADAPTER_DIR/dvrDEMUX
#   stderr: "error: ..." / "warning: ..." lines; exit status 1 on an error
#
# Linux DVB API, demux device (include/uapi/linux/dvb/dmx.h):
#   DMX_SET_PES_FILTER  _IOW('o', 44, struct dmx_pes_filter_params)   = 0x40146f2c
#       struct { __u16 pid; (2 bytes padding) enum dmx_input input; enum dmx_output output;
#                enum dmx_ts_pes pes_type; __u32 flags; }   20 bytes, native byte order
#       input DMX_IN_FRONTEND = 0, output DMX_OUT_TS_TAP = 2 (whole TS packets to dvr),
#       pes_type DMX_PES_OTHER = 20, flags DMX_IMMEDIATE_START = 4
#   DMX_ADD_PID         _IOW('o', 51, __u16)   = 0x40026f33   one more PID on the same filter
#   DMX_REMOVE_PID      _IOW('o', 52, __u16)   = 0x40026f34
#   DMX_SET_BUFFER_SIZE _IO('o', 45)           = 0x6f2d       on the dvr device
# One demux file descriptor holds the whole set (DMX_ADD_PID, Linux 3.x and later), so the
# hardware filter passes exactly these PIDs; a read of the dvr device that fails with
# EOVERFLOW means its buffer overran (packets lost): reported, then reading goes on.

import errno
import fcntl
import os
import select
import struct
import sys

DMX_SET_PES_FILTER = 0x40146F2C
DMX_ADD_PID = 0x40026F33
DMX_REMOVE_PID = 0x40026F34
DMX_SET_BUFFER_SIZE = 0x6F2D
DMX_IN_FRONTEND, DMX_OUT_TS_TAP, DMX_PES_OTHER, DMX_IMMEDIATE_START = 0, 2, 20, 4
READ_SIZE = 188 * 348


def fail(message):
    sys.stderr.write("error: %s\n" % message)
    sys.stderr.flush()
    sys.exit(1)


def open_device(path, flags):
    try:
        return os.open(path, flags)
    except OSError as e:
        if e.errno == errno.EACCES:
            fail("%s: permission denied (the video group)" % path)
        if e.errno == errno.EBUSY:
            fail("%s: device or resource busy" % path)
        fail("%s: %s" % (path, e.strerror))


def ioctl(fd, request, arg, what):
    try:
        fcntl.ioctl(fd, request, arg)
    except OSError as e:
        if e.errno == errno.ENOTTY:
            fail("%s: not a DVB demux device" % what)
        fail("%s: %s" % (what, e.strerror))


def apply(fd, path, current, wanted):
    if not current:
        first = min(wanted)
        params = struct.pack("=HxxIIII", first, DMX_IN_FRONTEND, DMX_OUT_TS_TAP,
                             DMX_PES_OTHER, DMX_IMMEDIATE_START)
        ioctl(fd, DMX_SET_PES_FILTER, params, "%s: set filter" % path)
        current = {first}
    for pid in sorted(wanted - current):
        ioctl(fd, DMX_ADD_PID, struct.pack("=H", pid), "%s: add PID %d" % (path, pid))
    for pid in sorted(current - wanted):
        ioctl(fd, DMX_REMOVE_PID, struct.pack("=H", pid), "%s: remove PID %d" % (path, pid))
    return set(wanted)


def write_all(data):
    view = memoryview(data)
    while view:
        n = os.write(1, view)
        view = view[n:]


def main():
    if len(sys.argv) != 3:
        fail("usage: dvb-demux.py ADAPTER_DIR DEMUX")
    adapter, demux = sys.argv[1], sys.argv[2]
    demux_path = "%s/demux%s" % (adapter, demux)
    dvr_path = "%s/dvr%s" % (adapter, demux)
    dvr = open_device(dvr_path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        fcntl.ioctl(dvr, DMX_SET_BUFFER_SIZE, 4 * 1024 * 1024)
    except OSError as e:
        sys.stderr.write("warning: %s: buffer size not set: %s\n" % (dvr_path, e.strerror))
    dmx = open_device(demux_path, os.O_RDWR)
    current = set()
    pending = b""
    while True:
        ready, _, _ = select.select([0, dvr], [], [])
        if 0 in ready:
            chunk = os.read(0, 4096)
            if not chunk:
                return 0  # headend closed our stdin: stop
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                words = line.decode("ascii", "replace").split()
                if words[:1] == ["pids"] and len(words) > 1:
                    current = apply(dmx, demux_path, current, {int(w) for w in words[1:]})
        if dvr in ready:
            try:
                data = os.read(dvr, READ_SIZE)
            except OSError as e:
                if e.errno == errno.EOVERFLOW:
                    sys.stderr.write("warning: %s: buffer overrun, packets lost\n" % dvr_path)
                    continue
                if e.errno == errno.EAGAIN:
                    continue
                fail("%s: read: %s" % (dvr_path, e.strerror))
            if data:
                write_all(data)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:
        sys.exit(0)
    except KeyboardInterrupt:
        sys.exit(0)
