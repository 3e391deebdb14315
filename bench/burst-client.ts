/**
 * Child process that sends a burst of signed requests at once and prints each one's
 * status and latency as JSON. It runs apart from the benchmark process, which also
 * serves the fake Slack Web API that the bot calls during the burst.
 *
 *   node --import tsx bench/burst-client.ts <endpoint>   (stdin: JSON SignedRequest[])
 */
import { text } from 'node:stream/consumers';

import { postSigned, type SignedRequest } from './slash-command.js';

const endpoint = process.argv[2];
if (!endpoint) throw new Error('usage: burst-client.ts <endpoint> < requests.json');

const requests = JSON.parse(await text(process.stdin)) as SignedRequest[];
const results = await Promise.all(requests.map((request) => postSigned(endpoint, request)));
process.stdout.write(`${JSON.stringify(results)}\n`);
