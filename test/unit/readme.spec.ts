import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { COMMANDS, Command, optionDocs } from '../../src/config';
import { CLOSE_CODES, ERROR_CODES } from '../../src/protocol/codes';
import { repoRoot } from '../helpers/gateway';

const readme = readFileSync(join(repoRoot(), 'README.md'), 'utf8');

describe('README', () => {
  it('documents every option of every command with its flag and environment variable', () => {
    for (const command of Object.keys(COMMANDS) as Command[]) {
      for (const o of optionDocs(command)) {
        expect(readme, `${command} ${o.flag}`).to.contain('`' + o.flag + '`');
        expect(readme, `${command} ${o.env}`).to.contain('`' + o.env + '`');
      }
    }
  });

  it('documents every error code and every close code', () => {
    for (const code of Object.keys(ERROR_CODES)) expect(readme).to.contain('`' + code + '`');
    for (const code of Object.values(CLOSE_CODES)) expect(readme).to.contain(String(code));
  });
});
