// Every default of channels.yaml in one place (schema.ts documents what each key means).

export const DEFAULTS = {
  tuneTimeoutMs: 10_000,
  /** headend.name, and the provider of channels that set none. */
  headendName: 'headend',
  /** headend.interface: egress of every output. */
  interface: '127.0.0.1',
  /** headend.ttl: multicast TTL (1 = this subnet only). */
  ttl: 1,
  /** headend.tos: IP TOS byte. */
  tos: 0,
  /** packets_per_datagram: 7 × 188 = 1316 bytes, the IPTV norm. */
  packetsPerDatagram: 7,
  /** psi_interval: PAT/PMT/SDT repetition. */
  psiIntervalMs: 100,
  /** decode_margin: least DTS − PCR of every output PES (remux/decode-delay.ts). */
  decodeMarginMs: 100,
  /** vbr_smoothing: how far a VBR output may trail its input to even out bursts (remux/vbr-smoothing.ts). */
  vbrSmoothingMs: 100,
  /** stall_timeout: a source silent this long has failed. */
  stallMs: 2000,
  /** return_after: a recovered primary must stay healthy this long before switching back. */
  returnAfterMs: 30_000,
  /** test.pattern */
  testPattern: 'testsrc2',
  /** test.resolution */
  testResolution: '640x360',
  /** test.rate, frames per second. */
  testRate: 25,
  /** test.bitrate, video, bit/s. */
  testBitrate: 1_500_000,
  /** loop, for file sources. */
  fileLoop: true,
  /** headend.http.listen: status, playlist, API and metrics (loopback only by default). */
  httpListen: { host: '127.0.0.1', port: 8080 },
  /** HTTP-TS client limits (headend.http). */
  httpMaxClients: 1000,
  httpMaxPerChannel: 500,
  httpMaxPerAddress: 16,
  httpClientBuffer: 4 * 1024 * 1024,
  /** headend.rtsp.listen */
  rtspListen: { host: '0.0.0.0', port: 8554 },
  /** headend.rtsp.rtp_port: the server's RTP port for unicast UDP (RTCP on the next one). */
  rtspRtpPort: 6970,
  /** headend.rtsp.companion_offset: added to a raw-UDP channel's group for its RTP twin. */
  rtspCompanionOffset: 0x8000, // 0.0.128.0
  /** headend.rtsp.session_timeout (RFC 2326 12.37 default 60 s). */
  rtspSessionTimeoutMs: 60_000,
  rtspMaxSessions: 1000,
  rtspMaxSessionsPerClient: 64,
  /** headend.sap.address: the administratively scoped SAP group (RFC 2974 3). */
  sapAddress: '239.255.255.255',
  sapPort: 9875,
} as const;

/** Where `headend run` and `headend validate` look when no -c FILE is given, in order. */
export const CONFIG_SEARCH_PATHS: readonly string[] = [
  'channels.yaml',
  '/etc/headend/channels.yaml',
];

/** Limits that validation enforces. */
export const LIMITS = {
  /** TR 101 290 1.3: PAT at least every 0.5 s; the remuxer repeats PSI ~10 % early. */
  psiIntervalMaxMs: 500,
  psiIntervalMinMs: 10,
  /** A margin this close to the T-STD's 1 s leaves no room for the streams' own spread. */
  decodeMarginMaxMs: 900,
  /** The remuxer's bound on VBR smoothing (RemuxOptions.vbrSmoothingMs). */
  vbrSmoothingMaxMs: 500,
  stallMinMs: 100,
  stallMaxMs: 3_600_000,
  returnAfterMaxMs: 86_400_000,
  testRateMax: 120,
  sizeMax: 7680,
  /**
   * bitrate: the CBR mux rate of one program. Below 250 kbit/s the PSI and PCR alone (~95 kbit/s
   * at the default psi_interval) leave too little for even a radio service; above 100 Mbit/s is
   * no single program (UHD HEVC is 25-50 Mbit/s) and would flood the network (and the pacer).
   */
  cbrMin: 250_000,
  cbrMax: 100_000_000,
  /** test.bitrate: the video encoder's rate of a test pattern. */
  testBitrateMin: 50_000,
  testBitrateMax: 50_000_000,
  /** transcode.video_bitrate / audio_bitrate. */
  videoBitrateMin: 50_000,
  videoBitrateMax: 100_000_000,
  audioBitrateMin: 8_000,
  audioBitrateMax: 2_000_000,
} as const;
