import { describe, expect, it } from 'vitest';
import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import en from '@/locales/en.json';
import fr from '@/locales/fr.json';
import { LanguageSwitch } from '@/components/language-switch';
import { LoginPage } from '@/features/auth/login-page';
import { currentLanguage, detectLanguage, setLanguage } from '@/lib/i18n';
import { mockApi, renderWithProviders } from '@/test/utils';
import { api } from '@/lib/api';

function keys(o: object, prefix = ''): string[] {
  return Object.entries(o).flatMap(([k, v]) =>
    v && typeof v === 'object' ? keys(v as object, `${prefix}${k}.`) : [`${prefix}${k}`],
  );
}

describe('translations', () => {
  it('French and English have the same keys', () => {
    expect(keys(fr).sort()).toEqual(keys(en).sort());
  });
});

describe('language switch', () => {
  it('switches the screen between English and French and remembers the choice', async () => {
    mockApi({ 'GET /api/v1/auth/methods': () => ({ password: true, directory: false, sso: [], demo_logins: null }) });
    await setLanguage('en');
    renderWithProviders(<LoginPage />);
    expect(screen.getByRole('heading', { name: 'Sign in' })).toBeInTheDocument();
    expect(screen.getByLabelText('Password')).toBeInTheDocument();
    await userEvent.click(screen.getByRole('button', { name: 'French' }));
    await waitFor(() => expect(screen.getByRole('heading', { name: 'Connexion' })).toBeInTheDocument());
    expect(screen.getByLabelText('Mot de passe')).toBeInTheDocument();
    expect(localStorage.getItem('tentabo.language')).toBe('fr');
    expect(detectLanguage()).toBe('fr');
    expect(document.documentElement.lang).toBe('fr');
    await userEvent.click(screen.getByRole('button', { name: 'Anglais' }));
    await waitFor(() => expect(screen.getByRole('heading', { name: 'Sign in' })).toBeInTheDocument());
  });

  it('sends Accept-Language in the chosen language', async () => {
    const seen: string[] = [];
    globalThis.fetch = (async (input: Request) => {
      seen.push(input.headers.get('Accept-Language') ?? '');
      return new Response('{"items":[],"next_cursor":null}', { status: 200, headers: { 'Content-Type': 'application/json' } });
    }) as typeof fetch;
    await setLanguage('fr');
    await api.GET('/api/v1/leads');
    await setLanguage('en');
    await api.GET('/api/v1/leads');
    expect(seen).toEqual(['fr', 'en']);
    expect(currentLanguage()).toBe('en');
  });

  it('offers both languages as toggle buttons', async () => {
    await setLanguage('en');
    renderWithProviders(<LanguageSwitch />);
    expect(screen.getByRole('button', { name: 'English' })).toHaveAttribute('aria-pressed', 'true');
    expect(screen.getByRole('button', { name: 'French' })).toHaveAttribute('aria-pressed', 'false');
  });
});
