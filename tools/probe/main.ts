/** `npm run --silent probe -- TARGET [options]`: see args.ts (USAGE) and README.md ("Commissioning: the probe"). */
import { runProbe } from './run.js';

process.exitCode = await runProbe(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
