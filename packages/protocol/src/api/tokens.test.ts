import { describe, expect, it } from 'vitest';
import { adminTokenView, createdToken, createTokenRequest, tokenView, whoAmI } from '../testing/examples.js';
import { overTheWire, rejectedFields, without } from '../testing/wire.js';
import { CreatedToken, CreateTokenRequest, Role, TokenList, TokenView, WhoAmI } from './tokens.js';

describe('tokens', () => {
  it('cross the wire unchanged', () => {
    expect(overTheWire(CreateTokenRequest, createTokenRequest)).toStrictEqual(createTokenRequest);
    expect(overTheWire(TokenView, tokenView)).toStrictEqual(tokenView);
    expect(overTheWire(CreatedToken, createdToken)).toStrictEqual(createdToken);
    expect(overTheWire(TokenList, { items: [tokenView, adminTokenView] })).toStrictEqual({ items: [tokenView, adminTokenView] });
    expect(overTheWire(WhoAmI, whoAmI)).toStrictEqual(whoAmI);
  });

  it('has the three roles of the product', () => {
    expect(Role.options).toEqual(['admin', 'member', 'viewer']);
  });

  it('never lists the secret: a token view drops it', () => {
    expect(TokenView.parse(createdToken)).not.toHaveProperty('token');
  });

  it.each([
    ['role', CreateTokenRequest, { ...createTokenRequest, role: 'owner' }],
    ['role', CreateTokenRequest, without(createTokenRequest, 'role')],
    ['project', CreateTokenRequest, { ...createTokenRequest, project: null }],
    ['token', CreateTokenRequest, { ...createTokenRequest, token: 'chosen-by-me' }],
    ['token', CreatedToken, without(createdToken, 'token')],
    ['revokedAt', TokenView, without(tokenView, 'revokedAt')],
    ['items.0.role', TokenList, { items: [{ ...tokenView, role: 'Admin' }] }],
    ['project', WhoAmI, without(whoAmI, 'project')],
  ])('%s is to blame (case %#)', (field, schema, value) => {
    expect(rejectedFields(schema, value)).toEqual([field]);
  });
});
