import { expect } from 'chai';
import { corsHeaders } from '../../src/server/static-files';

describe('static files: CORS headers (corsHeaders)', () => {
  const ALLOWED = ['https://app.example.com', 'http://localhost:3000'];

  it('allows any origin with `*` and no Vary when --allowed-origins is unset', () => {
    expect(corsHeaders('https://anywhere.example', [])).to.deep.equal([['access-control-allow-origin', '*']]);
    expect(corsHeaders('', [])).to.deep.equal([['access-control-allow-origin', '*']]);
  });

  it('echoes an allowed Origin exactly as the request sent it, with Vary: Origin', () => {
    expect(corsHeaders('https://app.example.com', ALLOWED))
      .to.deep.equal([['vary', 'Origin'], ['access-control-allow-origin', 'https://app.example.com']]);
    expect(corsHeaders('http://localhost:3000', ALLOWED))
      .to.deep.equal([['vary', 'Origin'], ['access-control-allow-origin', 'http://localhost:3000']]);
  });

  it('sends only Vary: Origin for an origin not in the list, and for a request without Origin', () => {
    expect(corsHeaders('https://evil.example', ALLOWED)).to.deep.equal([['vary', 'Origin']]);
    expect(corsHeaders('http://localhost:3001', ALLOWED)).to.deep.equal([['vary', 'Origin']]);
    expect(corsHeaders('null', ALLOWED)).to.deep.equal([['vary', 'Origin']]);
    expect(corsHeaders('', ALLOWED)).to.deep.equal([['vary', 'Origin']]);
  });
});
