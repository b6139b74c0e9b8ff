import * as React from 'react';
import { useTranslation } from 'react-i18next';
import { Button } from '@/components/ui/button';
import { Input, Select } from '@/components/ui/input';
import { Badge } from '@/components/ui/badge';
import { Card, CardContent, CardHeader, CardTitle } from '@/components/ui/card';
import { Dialog, DialogContent } from '@/components/ui/dialog';
import { Table, TBody, TD, TH, THead, TR } from '@/components/ui/table';
import { FormField } from '@/components/form-field';
import { Empty, ErrorMessage, LoadMore, Loading, PageHeader } from '@/components/page';
import { ApiError } from '@/lib/errors';
import { fieldMessage } from '@/lib/forms';
import {
  useAllOrganisations,
  useAttachedPartners,
  useAttachment,
  useCreateOrganisation,
  useOrganisations,
  useUpdateOrganisation,
  type Organisation,
  type OrgKind,
} from '../api';

function Attached({ distributor }: { distributor: Organisation }) {
  const { t } = useTranslation();
  const attached = useAttachedPartners(distributor.id);
  const all = useAllOrganisations('partners');
  const attach = useAttachment();
  const [pick, setPick] = React.useState('');
  const ids = new Set((attached.data ?? []).map((p) => p.id));
  return (
    <div className="flex flex-col gap-3">
      <ErrorMessage error={attached.error ?? attach.error} />
      {attached.isPending ? <Loading /> : null}
      {attached.data && attached.data.length === 0 ? <p className="text-sm">{t('organisations.noAttached')}</p> : null}
      <ul className="flex flex-col gap-1">
        {(attached.data ?? []).map((p) => (
          <li key={p.id} className="flex items-center justify-between gap-2 text-sm">
            <span>{p.name}</span>
            <Button size="sm" variant="outline" onClick={() => attach.mutate({ distributorId: distributor.id, partnerId: p.id, attach: false })} aria-label={t('organisations.detachNamed', { name: p.name })}>
              {t('organisations.detach')}
            </Button>
          </li>
        ))}
      </ul>
      <form
        className="flex items-end gap-2"
        onSubmit={(e) => {
          e.preventDefault();
          if (pick) attach.mutate({ distributorId: distributor.id, partnerId: pick, attach: true }, { onSuccess: () => setPick('') });
        }}
      >
        <FormField id="attach-partner" label={t('organisations.attachPartner')}>
          {(a) => (
            <Select {...a} value={pick} onChange={(e) => setPick(e.target.value)}>
              <option value="">{t('organisations.choosePartner')}</option>
              {(all.data ?? []).filter((p) => !ids.has(p.id)).map((p) => (
                <option key={p.id} value={p.id}>{p.name}</option>
              ))}
            </Select>
          )}
        </FormField>
        <Button type="submit" disabled={!pick || attach.isPending}>{t('organisations.attach')}</Button>
      </form>
    </div>
  );
}

function OrgSection({ kind }: { kind: OrgKind }) {
  const { t } = useTranslation();
  const q = useOrganisations(kind);
  const create = useCreateOrganisation(kind);
  const update = useUpdateOrganisation(kind);
  const [name, setName] = React.useState('');
  const [open, setOpen] = React.useState<Organisation | null>(null);
  const items = q.data?.pages.flatMap((p) => p.items) ?? [];
  const nameError = create.error instanceof ApiError ? create.error.fields.name?.map((c) => fieldMessage(t, c)).join(' ') : undefined;
  return (
    <Card>
      <CardHeader>
        <CardTitle>{t(`organisations.${kind}`)}</CardTitle>
      </CardHeader>
      <CardContent className="flex flex-col gap-3">
        <ErrorMessage error={q.error ?? update.error} />
        {q.isPending ? <Loading /> : null}
        {q.data && items.length === 0 ? <Empty>{t('organisations.empty')}</Empty> : null}
        {items.length > 0 ? (
          <Table>
            <THead>
              <TR>
                <TH>{t('organisations.name')}</TH>
                <TH>{t('common.state')}</TH>
                <TH>{t('common.actions')}</TH>
              </TR>
            </THead>
            <TBody>
              {items.map((o) => (
                <TR key={o.id}>
                  <TD className="font-medium">{o.name}</TD>
                  <TD>{o.is_active ? <Badge variant="green">{t('admin.active')}</Badge> : <Badge variant="red">{t('admin.disabled')}</Badge>}</TD>
                  <TD>
                    <div className="flex flex-wrap gap-1">
                      <Button size="sm" variant="outline" onClick={() => update.mutate({ id: o.id, body: { is_active: !o.is_active } })} aria-label={(o.is_active ? t('admin.disable') : t('admin.enable')) + ` ${o.name}`}>
                        {o.is_active ? t('admin.disable') : t('admin.enable')}
                      </Button>
                      {kind === 'distributors' ? (
                        <Button size="sm" variant="outline" onClick={() => setOpen(o)} aria-label={t('organisations.partnersOf', { name: o.name })}>
                          {t('organisations.attachedPartners')}
                        </Button>
                      ) : null}
                    </div>
                  </TD>
                </TR>
              ))}
            </TBody>
          </Table>
        ) : null}
        <LoadMore hasNextPage={q.hasNextPage} isFetchingNextPage={q.isFetchingNextPage} fetchNextPage={q.fetchNextPage} />
        <form
          className="flex items-end gap-2"
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            create.mutate(name.trim(), { onSuccess: () => setName('') });
          }}
        >
          <FormField id={`new-${kind}`} label={t(`organisations.new.${kind}`)} error={nameError}>
            {(a) => <Input {...a} value={name} onChange={(e) => setName(e.target.value)} />}
          </FormField>
          <Button type="submit" disabled={create.isPending}>{t('common.create')}</Button>
        </form>
        {create.error && !nameError ? <ErrorMessage error={create.error} /> : null}
      </CardContent>
      <Dialog open={open !== null} onOpenChange={(o) => !o && setOpen(null)}>
        {open ? (
          <DialogContent title={t('organisations.partnersOf', { name: open.name })}>
            <Attached distributor={open} />
          </DialogContent>
        ) : null}
      </Dialog>
    </Card>
  );
}

export function Organisations() {
  const { t } = useTranslation();
  return (
    <div className="flex flex-col gap-4">
      <PageHeader title={t('organisations.title')} />
      <div className="grid gap-4 xl:grid-cols-2">
        <OrgSection kind="distributors" />
        <OrgSection kind="partners" />
      </div>
    </div>
  );
}
