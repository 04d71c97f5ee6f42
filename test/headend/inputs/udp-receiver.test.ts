// Runs inside the private network namespace (npm test wraps tap in scripts/in-netns.sh):
// multicast goes over `lo` only. Reading with the native addon: test/helpers/udp-receiver-suite.ts.
import '../../helpers/private-network.js'; // before any socket: only inside the private network namespace
import { udpReceiverSuite } from '../../helpers/udp-receiver-suite.js';

udpReceiverSuite('native');
