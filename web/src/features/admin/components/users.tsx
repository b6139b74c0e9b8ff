import * as React from 'react';
import { useForm } from 'react-hook-form';
import { zodResolver } from '@hookform/resolvers/zod';
import { z } from 'zod';
import { useTranslation } from 'react-i18next';
import { Plus } from 'lucide-react';
import { Button } from '@/components/ui/button';
import { Input, Select } from '@/components/ui/input';
import { Label } from '@/components/ui/label';
import { Alert } from '@/components/ui/alert';
import { Badge } from '@/components/ui/badge';
import { Dialog, DialogContent } from '@/components/ui/dialog';
import { Table, TBody, TD, TH, THead, TR } from '@/components/ui/table';
import { FormField } from '@/components/form-field';
import { Empty, ErrorMessage, LoadMore, Loading, PageHeader } from '@/components/page';
import { useMe } from '@/lib/auth';
import { ApiError } from '@/lib/errors';
import { applyApiErrors } from '@/lib/forms';
import { LANGUAGES, ROLES, useAllOrganisations, useCreateUser, useUpdateUser, useUsers, type UpdateUserBody, type User } from '../api';

const schema = z.object({
  email: z.string().trim().min(1, 'required').email('invalid_email'),
  full_name: z.string().trim().min(1, 'required').max(200, 'too_long'),
  role: z.enum(ROLES),
  partner_id: z.string(),
  distributor_id: z.string(),
  password: z.string().refine((p) => p === '' || p.length >= 8, 'too_short'),
});
type Values = z.infer<typeof schema>;

const editSchema = z.object({
  full_name: z.string().trim().min(1, 'required').max(200, 'too_long'),
  language: z.enum(LANGUAGES, { message: 'invalid_choice' }),
});
type EditValues = z.infer<typeof editSchema>;

/** A user's name and the language of their emails; only what changed is sent. */
function EditUser({ user, onDone }: { user: User; onDone: () => void }) {
  const { t } = useTranslation();
  const update = useUpdateUser();
  const [failure, setFailure] = React.useState<unknown>(null);
  const form = useForm<EditValues>({
    resolver: zodResolver(editSchema),
    defaultValues: {
      full_name: user.full_name,
      language: (LANGUAGES as readonly string[]).includes(user.language) ? (user.language as EditValues['language']) : 'en',
    },
  });
  const err = (n: keyof EditValues) => {
    const e = form.formState.errors[n];
    if (!e?.message) return undefined;
    return e.type === 'server' ? e.message : t(`fieldErrors.${e.message}`);
  };
  const submit = form.handleSubmit(async (v) => {
    setFailure(null);
    const body: UpdateUserBody = {};
    if (v.full_name.trim() !== user.full_name) body.full_name = v.full_name.trim();
    if (v.language !== user.language) body.language = v.language;
    if (Object.keys(body).length === 0) return onDone();
    try {
      await update.mutateAsync({ id: user.id, body });
      onDone();
    } catch (e) {
      if (!applyApiErrors(t, e, form.setError, Object.keys(editSchema.shape)).handled) setFailure(e);
    }
  });
  return (
    <form onSubmit={submit} noValidate className="flex flex-col gap-3" aria-label={t('users.editOf', { name: user.full_name })}>
      <ErrorMessage error={failure} />
      <FormField id="edit-user-name" label={t('users.fullName')} error={err('full_name')}>
        {(a) => <Input {...a} {...form.register('full_name')} />}
      </FormField>
      <FormField id="edit-user-language" label={t('users.language')} hint={t('users.languageHint')} error={err('language')}>
        {(a) => (
          <Select {...a} {...form.register('language')}>
            {LANGUAGES.map((l) => (
              <option key={l} value={l} lang={l}>{t(`users.languages.${l}`)}</option>
            ))}
          </Select>
        )}
      </FormField>
      <div className="flex gap-2">
        <Button type="submit" disabled={form.formState.isSubmitting}>{t('common.save')}</Button>
        <Button type="button" variant="outline" onClick={onDone}>{t('common.cancel')}</Button>
      </div>
    </form>
  );
}

function NewUser({ onDone }: { onDone: () => void }) {
  const { t } = useTranslation();
  const create = useCreateUser();
  const partners = useAllOrganisations('partners');
  const distributors = useAllOrganisations('distributors');
  const [failure, setFailure] = React.useState<unknown>(null);
  const form = useForm<Values>({
    resolver: zodResolver(schema),
    defaultValues: { email: '', full_name: '', role: 'partner', partner_id: '', distributor_id: '', password: '' },
  });
  const role = form.watch('role');
  const err = (n: keyof Values) => {
    const e = form.formState.errors[n];
    if (!e?.message) return undefined;
    return e.type === 'server' ? e.message : t(`fieldErrors.${e.message}`);
  };
  const submit = form.handleSubmit(async (v) => {
    setFailure(null);
    try {
      await create.mutateAsync({
        email: v.email.trim(),
        full_name: v.full_name.trim(),
        role: v.role,
        partner_id: v.role === 'partner' ? v.partner_id || null : null,
        distributor_id: v.role === 'distributor' ? v.distributor_id || null : null,
        password: v.password || null,
      });
      onDone();
    } catch (e) {
      if (!applyApiErrors(t, e, form.setError, Object.keys(schema.shape)).handled) setFailure(e);
    }
  });
  return (
    <form onSubmit={submit} noValidate className="flex flex-col gap-3" aria-label={t('users.new')}>
      <ErrorMessage error={failure} />
      <FormField id="user-email" label={t('users.email')} error={err('email')}>
        {(a) => <Input type="email" {...a} {...form.register('email')} />}
      </FormField>
      <FormField id="user-name" label={t('users.fullName')} error={err('full_name')}>
        {(a) => <Input {...a} {...form.register('full_name')} />}
      </FormField>
      <FormField id="user-role" label={t('users.role')} error={err('role')}>
        {(a) => (
          <Select {...a} {...form.register('role')}>
            {ROLES.map((r) => (
              <option key={r} value={r}>{t(`roles.${r}`)}</option>
            ))}
          </Select>
        )}
      </FormField>
      {role === 'partner' ? (
        <FormField id="user-partner" label={t('users.partner')} error={err('partner_id')}>
          {(a) => (
            <Select {...a} {...form.register('partner_id')}>
              <option value="">{t('common.none')}</option>
              {(partners.data ?? []).map((p) => (
                <option key={p.id} value={p.id}>{p.name}</option>
              ))}
            </Select>
          )}
        </FormField>
      ) : null}
      {role === 'distributor' ? (
        <FormField id="user-distributor" label={t('users.distributor')} error={err('distributor_id')}>
          {(a) => (
            <Select {...a} {...form.register('distributor_id')}>
              <option value="">{t('common.none')}</option>
              {(distributors.data ?? []).map((d) => (
                <option key={d.id} value={d.id}>{d.name}</option>
              ))}
            </Select>
          )}
        </FormField>
      ) : null}
      <FormField id="user-password" label={t('users.password')} hint={t('users.passwordHint')} error={err('password')}>
        {(a) => <Input type="password" autoComplete="new-password" {...a} {...form.register('password')} />}
      </FormField>
      <div>
        <Button type="submit" disabled={form.formState.isSubmitting}>{t('common.create')}</Button>
      </div>
    </form>
  );
}

export function Users() {
  const { t } = useTranslation();
  const me = useMe();
  const [q, setQ] = React.useState('');
  const [search, setSearch] = React.useState('');
  const [role, setRole] = React.useState('');
  const [creating, setCreating] = React.useState(false);
  const [editing, setEditing] = React.useState<User | null>(null);
  React.useEffect(() => {
    const h = setTimeout(() => setSearch(q.trim()), 300);
    return () => clearTimeout(h);
  }, [q]);
  const users = useUsers({ q: search, role });
  const update = useUpdateUser();
  const manage = me.permissions.includes('user:manage');
  const items = users.data?.pages.flatMap((p) => p.items) ?? [];
  const change = (u: User, body: { role?: string; is_active?: boolean }) => update.mutate({ id: u.id, body });
  return (
    <div className="flex flex-col gap-3">
      <PageHeader
        title={t('users.title')}
        actions={manage ? <Button onClick={() => setCreating(true)}><Plus className="h-4 w-4" aria-hidden />{t('users.new')}</Button> : null}
      />
      <div className="flex flex-col gap-2 sm:flex-row sm:items-end">
        <div className="flex flex-col gap-1 sm:w-64">
          <Label htmlFor="users-search">{t('leads.search')}</Label>
          <Input id="users-search" type="search" value={q} onChange={(e) => setQ(e.target.value)} />
        </div>
        <div className="flex flex-col gap-1 sm:w-56">
          <Label htmlFor="users-role">{t('users.role')}</Label>
          <Select id="users-role" value={role} onChange={(e) => setRole(e.target.value)}>
            <option value="">{t('common.all')}</option>
            {ROLES.map((r) => (
              <option key={r} value={r}>{t(`roles.${r}`)}</option>
            ))}
          </Select>
        </div>
      </div>
      {update.error ? <Alert>{update.error instanceof ApiError ? update.error.message : t('errors.network')}</Alert> : null}
      <ErrorMessage error={users.error} />
      {users.isPending ? <Loading /> : null}
      {users.data && items.length === 0 ? <Empty>{t('users.empty')}</Empty> : null}
      {items.length > 0 ? (
        <Table>
          <THead>
            <TR>
              <TH>{t('users.user')}</TH>
              <TH>{t('users.role')}</TH>
              <TH className="hidden sm:table-cell">{t('users.languageShort')}</TH>
              <TH>{t('common.state')}</TH>
              <TH>{t('common.actions')}</TH>
            </TR>
          </THead>
          <TBody>
            {items.map((u) => (
              <TR key={u.id}>
                <TD>
                  <span className="font-medium">{u.full_name}</span>
                  <span className="block text-xs text-slate-700">{u.email}</span>
                </TD>
                <TD>
                  {manage && u.id !== me.id ? (
                    <Select aria-label={t('users.roleOf', { name: u.full_name })} value={u.role} onChange={(e) => change(u, { role: e.target.value })} className="w-52">
                      {ROLES.map((r) => (
                        <option key={r} value={r}>{t(`roles.${r}`)}</option>
                      ))}
                    </Select>
                  ) : (
                    t(`roles.${u.role}`, { defaultValue: u.role })
                  )}
                </TD>
                <TD className="hidden sm:table-cell" lang={u.language}>{t(`users.languages.${u.language}`, { defaultValue: u.language })}</TD>
                <TD>{u.is_active ? <Badge variant="green">{t('admin.active')}</Badge> : <Badge variant="red">{t('admin.disabled')}</Badge>}</TD>
                <TD>
                  <div className="flex flex-wrap gap-1">
                    {manage ? (
                      <Button size="sm" variant="outline" onClick={() => setEditing(u)} aria-label={t('users.editOf', { name: u.full_name })}>
                        {t('common.edit')}
                      </Button>
                    ) : null}
                    {manage && u.id !== me.id ? (
                      <Button size="sm" variant="outline" onClick={() => change(u, { is_active: !u.is_active })} aria-label={(u.is_active ? t('admin.disable') : t('admin.enable')) + ` ${u.full_name}`}>
                        {u.is_active ? t('admin.disable') : t('admin.enable')}
                      </Button>
                    ) : null}
                  </div>
                </TD>
              </TR>
            ))}
          </TBody>
        </Table>
      ) : null}
      <LoadMore hasNextPage={users.hasNextPage} isFetchingNextPage={users.isFetchingNextPage} fetchNextPage={users.fetchNextPage} />
      <Dialog open={editing !== null} onOpenChange={(o) => { if (!o) setEditing(null); }}>
        {editing ? (
          <DialogContent title={t('users.editOf', { name: editing.full_name })}>
            <EditUser key={editing.id} user={editing} onDone={() => setEditing(null)} />
          </DialogContent>
        ) : null}
      </Dialog>
      <Dialog open={creating} onOpenChange={setCreating}>
        {creating ? (
          <DialogContent title={t('users.new')}>
            <NewUser onDone={() => setCreating(false)} />
          </DialogContent>
        ) : null}
      </Dialog>
    </div>
  );
}
