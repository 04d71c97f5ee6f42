#!/usr/bin/python3
# The SI of a transport stream as GStreamer reads it (not our code): tsparse (mpegtsparse2)
# posts each section it parsed (CRC checked) as an element message, and libgstmpegts
# (GstMpegts, through PyGObject) decodes it. Prints one JSON object when done:
#   {"nit": [...], "sdt": [...], "tdt": [...], "tot": [...]}
# EIT p/f: events with start, duration and short event; NIT: network_id, version, name and (tsid, onid) of each transport stream; SDT: service names
# and providers; TDT/TOT: UTC time (ISO); NIT, SDT and TOT also as the raw section (hex) for a
# byte-exact comparison; each with its receive time in ms since the epoch.
#
#   gst-si.py GROUP PORT SECONDS [IFACE_ADDR]
import json
import sys
import time

import gi

gi.require_version('Gst', '1.0')
gi.require_version('GstMpegts', '1.0')
from gi.repository import GLib, Gst, GstMpegts  # noqa: E402

group, port, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
iface = sys.argv[4] if len(sys.argv) > 4 else '127.0.0.1'

Gst.init(None)
GstMpegts.initialize()
pipe = Gst.parse_launch(
    f'udpsrc address={group} port={port} multicast-iface=lo ! tsparse ! fakesink'
)
out = {'nit': [], 'sdt': [], 'tdt': [], 'tot': [], 'eit': []}


def iso(dt):
    return '%04d-%02d-%02dT%02d:%02d:%02dZ' % (
        dt.get_year(), dt.get_month(), dt.get_day(),
        dt.get_hour(), dt.get_minute(), dt.get_second())


def raw(section):
    return bytes(section.get_data().get_data()).hex()


def on_message(bus, msg):
    if msg.type != Gst.MessageType.ELEMENT:
        return
    section = GstMpegts.message_parse_mpegts_section(msg)
    if section is None:
        return
    now = int(time.time() * 1000)
    t = section.section_type
    if t == GstMpegts.SectionType.NIT:
        nit = section.get_nit()
        name = None
        for d in nit.descriptors:
            if d.tag == 0x40:
                ok, name = d.parse_dvb_network_name()
        out['nit'].append({'at': now, 'networkId': nit.network_id,
                           'version': section.version_number, 'name': name,
                           'streams': [[s.transport_stream_id, s.original_network_id]
                                       for s in nit.streams],
                           'raw': raw(section)})
    elif t == GstMpegts.SectionType.SDT:
        sdt = section.get_sdt()
        services = []
        for s in sdt.services:
            for d in s.descriptors:
                if d.tag == 0x48:
                    ok, stype, name, provider = d.parse_dvb_service()
                    services.append({'id': s.service_id, 'name': name, 'provider': provider})
        out['sdt'].append({'at': now, 'onid': sdt.original_network_id, 'services': services,
                           'raw': raw(section)})
    elif t == GstMpegts.SectionType.EIT:
        eit = section.get_eit()
        events = []
        for e in eit.events:
            ev = {'id': e.event_id, 'start': iso(e.start_time), 'duration': e.duration,
                  'running': int(e.running_status)}
            for d in e.descriptors:
                if d.tag == 0x4d:
                    ok, lang, name, text = d.parse_dvb_short_event()
                    ev.update({'lang': lang, 'name': name, 'text': text})
            events.append(ev)
        out['eit'].append({'at': now, 'tableId': section.table_id,
                           'serviceId': section.subtable_extension,
                           'section': section.section_number,
                           'version': section.version_number, 'events': events})
    elif t == GstMpegts.SectionType.TDT:
        out['tdt'].append({'at': now, 'utc': iso(section.get_tdt())})
    elif t == GstMpegts.SectionType.TOT:
        tot = section.get_tot()
        out['tot'].append({'at': now, 'utc': iso(tot.utc_time), 'raw': raw(section)})


loop = GLib.MainLoop()
bus = pipe.get_bus()
bus.add_signal_watch()
bus.connect('message', on_message)
pipe.set_state(Gst.State.PLAYING)
GLib.timeout_add(int(seconds * 1000), loop.quit)
loop.run()
pipe.set_state(Gst.State.NULL)
print(json.dumps(out))
