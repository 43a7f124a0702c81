import { describe, expect, it } from 'vitest';
import { createdJoinToken, createJoinTokenRequest, joinTokenView } from '../testing/examples.js';
import { rejectedFields, without } from '../testing/wire.js';
import { CreatedJoinToken, CreateJoinTokenRequest, JoinTokenView } from './join-tokens.js';

describe('join tokens', () => {
  it('never lists the secret: a view drops it', () => {
    expect(JoinTokenView.parse(createdJoinToken)).not.toHaveProperty('token');
  });

  it.each([
    ['uses', { ...createJoinTokenRequest, uses: 0 }],
    ['uses', { ...createJoinTokenRequest, uses: 1.5 }],
    ['uses', { ...createJoinTokenRequest, uses: 100001 }],
    ['expiresInSeconds', { ...createJoinTokenRequest, expiresInSeconds: 59 }],
    ['expiresInSeconds', { ...createJoinTokenRequest, expiresInSeconds: 366 * 24 * 3600 }],
    ['name', { ...createJoinTokenRequest, name: 'Rack 4' }],
    ['token', { ...createJoinTokenRequest, token: 'chosen-by-me' }],
  ])('a request is refused with %s to blame (case %#)', (field, value) => {
    expect(rejectedFields(CreateJoinTokenRequest, value)).toEqual([field]);
  });

  it.each([
    ['token', CreatedJoinToken, without(createdJoinToken, 'token')],
    ['used', JoinTokenView, { ...joinTokenView, used: -1 }],
    ['uses', JoinTokenView, { ...joinTokenView, uses: 0 }],
  ])('%s is to blame (case %#)', (field, schema, value) => {
    expect(rejectedFields(schema, value)).toEqual([field]);
  });
});
