import * as React from 'react';
import { useTranslation } from 'react-i18next';
import { Select } from '@/components/ui/input';
import { Label } from '@/components/ui/label';
import { Card, CardContent, CardHeader, CardTitle } from '@/components/ui/card';
import { Tabs, TabsContent, TabsList, TabsTrigger } from '@/components/ui/tabs';
import { Table, TBody, TD, TH, THead, TR } from '@/components/ui/table';
import { Empty, ErrorMessage, LoadMore, Loading } from '@/components/page';
import { dateTime, number } from '@/lib/format';
import { Button } from '@/components/ui/button';
import { useCan } from '@/lib/auth';
import { ENTITIES, useLakeHealth, useLakeRows, type ZoneName } from '../api';
import { CanonicalEditDialog } from './canonical-edit';

const SERVING = ['pipeline', 'won_revenue'];

function cell(v: unknown): string {
  if (v === null || v === undefined) return '—';
  const s = typeof v === 'object' ? JSON.stringify(v) : String(v);
  return s.length > 120 ? `${s.slice(0, 117)}…` : s;
}

function Rows({ zone, table }: { zone: ZoneName; table: string }) {
  const { t } = useTranslation();
  const q = useLakeRows(zone, table);
  const can = useCan();
  const editable = zone === 'canonical' && can('job:manage');
  const [editing, setEditing] = React.useState<Record<string, unknown> | null>(null);
  const items = (q.data?.pages.flatMap((p) => p.items) ?? []) as Record<string, unknown>[];
  const columns = items[0] ? Object.keys(items[0]).slice(0, 12) : [];
  return (
    <div>
      <ErrorMessage error={q.error} />
      {q.isPending ? <Loading /> : null}
      {q.data && items.length === 0 ? <Empty>{t('sync.noRows')}</Empty> : null}
      {items.length > 0 ? (
        <Table>
          <THead>
            <TR>
              {columns.map((c) => (
                <TH key={c}>{c}</TH>
              ))}
              {editable ? <TH><span className="sr-only">{t('common.actions')}</span></TH> : null}
            </TR>
          </THead>
          <TBody>
            {items.map((row, i) => (
              <TR key={i}>
                {columns.map((c) => (
                  <TD key={c} className="max-w-xs break-all text-xs">{cell(row[c])}</TD>
                ))}
                {editable ? (
                  <TD>
                    <Button size="sm" variant="outline" onClick={() => setEditing(row)} aria-label={t('sync.editRow.action', { id: cell(row.external_id) })}>
                      {t('common.edit')}
                    </Button>
                  </TD>
                ) : null}
              </TR>
            ))}
          </TBody>
        </Table>
      ) : null}
      <LoadMore hasNextPage={q.hasNextPage} isFetchingNextPage={q.isFetchingNextPage} fetchNextPage={q.fetchNextPage} />
      {editable ? <CanonicalEditDialog entity={table} row={editing} onClose={() => setEditing(null)} /> : null}
    </div>
  );
}

export function LakeExplorer() {
  const { t } = useTranslation();
  const health = useLakeHealth();
  const [entity, setEntity] = React.useState<string>('organization');
  const [serving, setServing] = React.useState<string>('pipeline');
  return (
    <div className="flex flex-col gap-4">
      <Card>
        <CardHeader>
          <CardTitle>{t('sync.health')}</CardTitle>
        </CardHeader>
        <CardContent>
          <ErrorMessage error={health.error} />
          {health.isPending ? <Loading /> : null}
          {health.data ? (
            <Table>
              <THead>
                <TR>
                  <TH>{t('sync.zone')}</TH>
                  <TH>{t('sync.table')}</TH>
                  <TH className="text-right">{t('sync.rows')}</TH>
                  <TH>{t('sync.newest')}</TH>
                </TR>
              </THead>
              <TBody>
                {health.data.zones.map((z) => (
                  <TR key={`${z.zone}-${z.table}`}>
                    <TD>{t(`sync.zones.${z.zone}`, { defaultValue: z.zone })}</TD>
                    <TD className="font-mono text-xs">{z.table}</TD>
                    <TD className="text-right">{number(z.rows)}</TD>
                    <TD>{dateTime(z.newest)}</TD>
                  </TR>
                ))}
              </TBody>
            </Table>
          ) : null}
        </CardContent>
      </Card>
      <Tabs defaultValue="raw">
        <TabsList aria-label={t('sync.zoneTabs')}>
          <TabsTrigger value="raw">{t('sync.zones.raw')}</TabsTrigger>
          <TabsTrigger value="canonical">{t('sync.zones.canonical')}</TabsTrigger>
          <TabsTrigger value="serving">{t('sync.zones.serving')}</TabsTrigger>
        </TabsList>
        <TabsContent value="raw">
          <Rows zone="raw" table="" />
        </TabsContent>
        <TabsContent value="canonical" className="flex flex-col gap-2">
          <div className="flex flex-col gap-1 sm:w-56">
            <Label htmlFor="lake-entity">{t('sync.entity')}</Label>
            <Select id="lake-entity" value={entity} onChange={(e) => setEntity(e.target.value)}>
              {ENTITIES.map((en) => (
                <option key={en} value={en}>{t(`sync.entities.${en}`)}</option>
              ))}
            </Select>
          </div>
          <Rows zone="canonical" table={entity} />
        </TabsContent>
        <TabsContent value="serving" className="flex flex-col gap-2">
          <div className="flex flex-col gap-1 sm:w-56">
            <Label htmlFor="lake-serving">{t('sync.table')}</Label>
            <Select id="lake-serving" value={serving} onChange={(e) => setServing(e.target.value)}>
              {SERVING.map((s) => (
                <option key={s} value={s}>{s}</option>
              ))}
            </Select>
          </div>
          <Rows zone="serving" table={serving} />
        </TabsContent>
      </Tabs>
    </div>
  );
}
