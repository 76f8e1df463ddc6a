// Replays every scenario script in scenarios/ and compares with its recorded output.
// Regenerate after an intended change: UPDATE_SCENARIOS=1 npx vitest run test/unit/control
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { goldenScenarios } from '../../helpers/golden-scenarios.js';
import { replay } from './script.js';

goldenScenarios('HA core scenarios', join(dirname(fileURLToPath(import.meta.url)), 'scenarios'), replay);
