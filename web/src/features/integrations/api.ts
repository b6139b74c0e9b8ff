import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '@/lib/api';
import { unwrap } from '@/lib/errors';
import type { components } from '@/api/schema';

export type ProviderSummary = components['schemas']['ProviderSummary'];
export type Provider = components['schemas']['ProviderDto'];
export type TestResult = components['schemas']['TestResult'];
export type ConfigureBody = components['schemas']['ConfigureRequest'];

const path = (kind: string, name: string) => ({ params: { path: { kind, name } } });

export function useProviders() {
  return useQuery({ queryKey: ['providers'], queryFn: () => unwrap(api.GET('/api/v1/providers')) });
}

export function useProvider(kind: string, name: string) {
  return useQuery({
    queryKey: ['providers', kind, name],
    queryFn: () => unwrap(api.GET('/api/v1/providers/{kind}/{name}', path(kind, name))),
  });
}

export function useConfigure(kind: string, name: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: ConfigureBody) => unwrap(api.PUT('/api/v1/providers/{kind}/{name}', { ...path(kind, name), body })),
    onSuccess: (p) => {
      qc.setQueryData(['providers', kind, name], p);
      void qc.invalidateQueries({ queryKey: ['providers'] });
    },
  });
}

export function useTestConnection(kind: string, name: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: () => unwrap(api.POST('/api/v1/providers/{kind}/{name}/test', path(kind, name))),
    onSettled: () => qc.invalidateQueries({ queryKey: ['providers'] }),
  });
}

export function useActivate(kind: string, name: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: () => unwrap(api.POST('/api/v1/providers/{kind}/{name}/activate', path(kind, name))),
    onSettled: () => qc.invalidateQueries({ queryKey: ['providers'] }),
  });
}

export type Deactivation = components['schemas']['Deactivation'];

/**
 * Deactivates a provider: its kind has no active provider until another is activated
 * (for `auth`, only Tentabo passwords remain). The lists, and the login methods, are read again.
 */
export function useDeactivate(kind: string, name: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: () => unwrap(api.POST('/api/v1/providers/{kind}/{name}/deactivate', path(kind, name))),
    onSettled: async () => {
      await Promise.all([
        qc.invalidateQueries({ queryKey: ['providers'] }),
        kind === 'auth' ? qc.invalidateQueries({ queryKey: ['auth', 'methods'] }) : null,
      ]);
    },
  });
}

/** Starts connecting Pipedrive with OAuth: answers the authorization page to send the browser to. */
export function useAuthorizePipedrive() {
  return useMutation({
    mutationFn: () => unwrap(api.POST('/api/v1/providers/crm/pipedrive/oauth/authorize')),
  });
}

export function useHealth(kind: string, name: string) {
  return useQuery({
    queryKey: ['providers', kind, name, 'health'],
    queryFn: () => unwrap(api.GET('/api/v1/providers/{kind}/{name}/health', path(kind, name))),
  });
}

export type LiveFields = components['schemas']['LiveFields'];

/** An Odoo model's fields as the live Odoo describes them, with samples from the raw zone. */
export function useOdooFields(model: string | null) {
  return useQuery({
    queryKey: ['providers', 'odoo-fields', model],
    enabled: model !== null,
    retry: false,
    queryFn: () =>
      unwrap(
        api.GET('/api/v1/integrations/{provider}/fields/{object}', { params: { path: { provider: 'odoo', object: model ?? '' } } }),
      ),
  });
}

export type LdapTestLoginResult = components['schemas']['TestLoginResult'];
export type DirectorySync = components['schemas']['DirectorySyncDto'];

/** Tries a login against the LDAP directory as saved (active or not); nothing is created. */
export function useLdapTestLogin() {
  return useMutation({
    mutationFn: (body: { login: string; password: string }) =>
      unwrap(api.POST('/api/v1/providers/auth/ldap/test-login', { body })),
  });
}

/** Runs the directory sync now (the active directory only). */
export function useLdapSync() {
  return useMutation({
    mutationFn: () => unwrap(api.POST('/api/v1/providers/auth/ldap/sync')),
  });
}
