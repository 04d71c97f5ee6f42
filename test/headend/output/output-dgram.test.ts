// Runs inside the private network namespace (npm test wraps tap in scripts/in-netns.sh).
// Output with node:dgram (the addon turned off, as where it is not built): test/helpers/output-suite.ts.
import '../../helpers/private-network.js'; // before any socket: only inside the private network namespace
import { outputSuite } from '../../helpers/output-suite.js';

process.env.HEADEND_NATIVE_UDP = '0';
outputSuite('dgram');
