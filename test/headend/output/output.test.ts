// Runs inside the private network namespace (npm test wraps tap in scripts/in-netns.sh).
// Output with the native addon (sendmmsg batches): test/helpers/output-suite.ts.
import '../../helpers/private-network.js'; // before any socket: only inside the private network namespace
import { outputSuite } from '../../helpers/output-suite.js';

outputSuite('native');
