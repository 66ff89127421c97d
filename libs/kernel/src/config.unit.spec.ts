import { describe, expect, it } from 'vitest';
import { baseEnvSchema, ConfigError, loadConfig, productionSecretProblems, refuseDefaultSecretsInProduction } from './config.js';

describe('default secrets in production', () => {
  const mine = {
    NODE_ENV: 'production',
    MF_API_KEYS: 'sk_live_abc,sk_live_def',
    NATS_PASSWORD: 's3cret-nats',
    DATABASE_URL: 'postgres://meterflow:s3cret-pg@db:5432/meterflow',
  };

  it('accepts secrets of its own', () => {
    expect(productionSecretProblems(mine)).toEqual([]);
  });

  it('names every default: API key, NATS password, database password', () => {
    const problems = productionSecretProblems({
      NODE_ENV: 'production',
      MF_API_KEYS: 'sk_live_abc, sk_test_meterflow',
      NATS_PASSWORD: 'meterflow',
      DATABASE_URL: 'postgres://meterflow:change-me@db:5432/meterflow',
    });
    expect(problems).toHaveLength(3);
    expect(problems.join('\n')).toMatch(/MF_API_KEYS[\s\S]*NATS_PASSWORD[\s\S]*DATABASE_URL/);
    expect(() => refuseDefaultSecretsInProduction({ ...mine, NATS_PASSWORD: 'change-me' })).toThrow(ConfigError);
    expect(() => refuseDefaultSecretsInProduction({ ...mine, NATS_PASSWORD: 'change-me' })).toThrow(
      /NODE_ENV=production[\s\S]*NATS_PASSWORD/,
    );
  });

  it('leaves development and test alone', () => {
    for (const NODE_ENV of ['development', 'test'])
      expect(productionSecretProblems({ NODE_ENV, MF_API_KEYS: 'sk_test_meterflow', NATS_PASSWORD: 'meterflow' })).toEqual([]);
  });
});

describe('MF_RELAY_DOMAIN_EVENTS', () => {
  const relay = (v?: string) => loadConfig(baseEnvSchema, v === undefined ? {} : { MF_RELAY_DOMAIN_EVENTS: v }).MF_RELAY_DOMAIN_EVENTS;

  it('is on unless set to false, and refuses anything but true or false', () => {
    expect(relay()).toBe(true);
    expect(relay('false')).toBe(false);
    expect(relay('true')).toBe(true);
    expect(() => relay('yes')).toThrow(/MF_RELAY_DOMAIN_EVENTS/);
  });
});
