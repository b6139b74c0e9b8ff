import * as React from 'react';
import { useTranslation } from 'react-i18next';
import {
  Bar,
  BarChart,
  CartesianGrid,
  Legend,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';
import { Card, CardContent, CardHeader, CardTitle } from '@/components/ui/card';
import { Table, TBody, TD, TH, THead, TR } from '@/components/ui/table';
import { Empty, ErrorMessage, Loading, PageHeader } from '@/components/page';
import { money, number } from '@/lib/format';
import { useLeadAnalytics, usePipeline, useWinRate, useWonRevenue } from './api';

const COLOURS = ['#1d4ed8', '#b45309', '#047857', '#7c3aed', '#be123c', '#0e7490', '#4d7c0f', '#9333ea'];
const STAGES = ['new', 'contacted', 'qualified', 'proposal', 'negotiation', 'won', 'lost'];

function pct(rate: string | number | null | undefined): string {
  if (rate == null) return '—';
  return `${(Number(rate) * 100).toFixed(1)} %`;
}

function ChartBox({ label, children }: { label: string; children: React.ReactElement }) {
  return (
    <figure aria-label={label} className="h-72 w-full">
      <ResponsiveContainer width="100%" height="100%">
        {children}
      </ResponsiveContainer>
    </figure>
  );
}

function LeadPipeline() {
  const { t } = useTranslation();
  const q = useLeadAnalytics();
  const rows = STAGES.map((s) => {
    const hit = q.data?.by_state.find((r) => r.state === s);
    return { stage: t(`states.${s}`), count: hit?.count ?? 0, value: Number(hit?.value ?? 0) };
  });
  return (
    <Card>
      <CardHeader>
        <CardTitle>{t('dashboards.leadPipeline')}</CardTitle>
      </CardHeader>
      <CardContent>
        {q.isPending ? <Loading /> : null}
        <ErrorMessage error={q.error} />
        {q.data ? (
          <>
            <ChartBox label={t('dashboards.leadPipeline')}>
              <BarChart data={rows} margin={{ left: 8, right: 8 }}>
                <CartesianGrid strokeDasharray="3 3" />
                <XAxis dataKey="stage" fontSize={11} interval={0} />
                <YAxis allowDecimals={false} fontSize={12} />
                <Tooltip />
                <Bar dataKey="count" name={t('dashboards.leads')} fill={COLOURS[0]} />
              </BarChart>
            </ChartBox>
            <Table>
              <THead>
                <TR>
                  <TH>{t('dashboards.stage')}</TH>
                  <TH className="text-right">{t('dashboards.leads')}</TH>
                  <TH className="text-right">{t('dashboards.value')}</TH>
                </TR>
              </THead>
              <TBody>
                {STAGES.map((s) => {
                  const hit = q.data.by_state.find((r) => r.state === s);
                  return (
                    <TR key={s}>
                      <TD>{t(`states.${s}`)}</TD>
                      <TD className="text-right">{number(hit?.count ?? 0)}</TD>
                      <TD className="text-right">{money(hit?.value ?? '0')}</TD>
                    </TR>
                  );
                })}
              </TBody>
            </Table>
          </>
        ) : null}
      </CardContent>
    </Card>
  );
}

function Pipeline() {
  const { t } = useTranslation();
  const q = usePipeline();
  const data = React.useMemo(() => {
    const owners = [...new Set((q.data ?? []).map((f) => f.owner ?? f.owner_external_id))];
    const stages = [...new Set((q.data ?? []).map((f) => f.status))];
    const rows = stages.map((status) => {
      const row: Record<string, string | number> = { status: t(`states.${status}`, { defaultValue: status }) };
      for (const f of q.data ?? []) {
        if (f.status === status) {
          const o = f.owner ?? f.owner_external_id;
          row[o] = (Number(row[o] ?? 0) || 0) + Number(f.value);
        }
      }
      return row;
    });
    return { owners, rows };
  }, [q.data, t]);
  return (
    <Card>
      <CardHeader>
        <CardTitle>{t('dashboards.pipeline')}</CardTitle>
        <p className="text-sm text-slate-700">{t('dashboards.pipelineHint')}</p>
      </CardHeader>
      <CardContent>
        {q.isPending ? <Loading /> : null}
        <ErrorMessage error={q.error} />
        {q.data && q.data.length === 0 ? <Empty>{t('dashboards.noLakeData')}</Empty> : null}
        {q.data && q.data.length > 0 ? (
          <>
            <ChartBox label={t('dashboards.pipeline')}>
              <BarChart data={data.rows}>
                <CartesianGrid strokeDasharray="3 3" />
                <XAxis dataKey="status" fontSize={12} />
                <YAxis fontSize={12} />
                <Tooltip />
                <Legend />
                {data.owners.map((o, i) => (
                  <Bar key={o} dataKey={o} stackId="owners" fill={COLOURS[i % COLOURS.length]} />
                ))}
              </BarChart>
            </ChartBox>
            <Table>
              <THead>
                <TR>
                  <TH>{t('dashboards.stage')}</TH>
                  <TH>{t('dashboards.owner')}</TH>
                  <TH className="text-right">{t('dashboards.leads')}</TH>
                  <TH className="text-right">{t('dashboards.value')}</TH>
                </TR>
              </THead>
              <TBody>
                {q.data.map((f, i) => (
                  <TR key={i}>
                    <TD>{t(`states.${f.status}`, { defaultValue: f.status })}</TD>
                    <TD>{f.owner ?? f.owner_external_id}</TD>
                    <TD className="text-right">{number(f.lead_count)}</TD>
                    <TD className="text-right">{money(String(f.value), f.currency)}</TD>
                  </TR>
                ))}
              </TBody>
            </Table>
          </>
        ) : null}
      </CardContent>
    </Card>
  );
}

function WinRateCard() {
  const { t } = useTranslation();
  const q = useWinRate();
  return (
    <Card>
      <CardHeader>
        <CardTitle>{t('dashboards.winRate')}</CardTitle>
      </CardHeader>
      <CardContent>
        {q.isPending ? <Loading /> : null}
        <ErrorMessage error={q.error} />
        {q.data ? (
          <>
            <p className="text-3xl font-semibold" data-testid="win-rate">
              {pct(q.data.rate)}
            </p>
            <p className="text-sm text-slate-700">{t('dashboards.wonLost', { won: q.data.won, lost: q.data.lost })}</p>
            {q.data.by_owner.length > 0 ? (
              <Table className="mt-2">
                <THead>
                  <TR>
                    <TH>{t('dashboards.owner')}</TH>
                    <TH className="text-right">{t('dashboards.won')}</TH>
                    <TH className="text-right">{t('dashboards.lost')}</TH>
                    <TH className="text-right">{t('dashboards.rate')}</TH>
                  </TR>
                </THead>
                <TBody>
                  {q.data.by_owner.map((o) => (
                    <TR key={o.owner_external_id}>
                      <TD>{o.owner ?? o.owner_external_id}</TD>
                      <TD className="text-right">{o.won}</TD>
                      <TD className="text-right">{o.lost}</TD>
                      <TD className="text-right">{pct(o.rate)}</TD>
                    </TR>
                  ))}
                </TBody>
              </Table>
            ) : null}
          </>
        ) : null}
      </CardContent>
    </Card>
  );
}

function WonRevenue() {
  const { t, i18n } = useTranslation();
  const q = useWonRevenue();
  const data = React.useMemo(() => {
    const currencies = [...new Set((q.data ?? []).map((m) => m.currency))];
    const months = [...new Set((q.data ?? []).map((m) => m.month))].sort();
    const fmt = new Intl.DateTimeFormat(i18n.language === 'fr' ? 'fr-FR' : 'en-GB', { month: 'short', year: 'numeric' });
    const rows = months.map((month) => {
      const row: Record<string, string | number> = { month: fmt.format(new Date(month)) };
      for (const m of q.data ?? []) if (m.month === month) row[m.currency] = Number(m.revenue);
      return row;
    });
    return { currencies, rows };
  }, [q.data, i18n.language]);
  return (
    <Card>
      <CardHeader>
        <CardTitle>{t('dashboards.wonRevenue')}</CardTitle>
      </CardHeader>
      <CardContent>
        {q.isPending ? <Loading /> : null}
        <ErrorMessage error={q.error} />
        {q.data && q.data.length === 0 ? <Empty>{t('dashboards.noLakeData')}</Empty> : null}
        {q.data && q.data.length > 0 ? (
          <>
            <ChartBox label={t('dashboards.wonRevenue')}>
              <BarChart data={data.rows}>
                <CartesianGrid strokeDasharray="3 3" />
                <XAxis dataKey="month" fontSize={12} />
                <YAxis fontSize={12} />
                <Tooltip />
                <Legend />
                {data.currencies.map((c, i) => (
                  <Bar key={c} dataKey={c} fill={COLOURS[i % COLOURS.length]} />
                ))}
              </BarChart>
            </ChartBox>
            <Table>
              <THead>
                <TR>
                  <TH>{t('dashboards.month')}</TH>
                  <TH className="text-right">{t('dashboards.won')}</TH>
                  <TH className="text-right">{t('dashboards.revenue')}</TH>
                </TR>
              </THead>
              <TBody>
                {q.data.map((m) => (
                  <TR key={`${m.month}-${m.currency}`}>
                    <TD>{m.month.slice(0, 7)}</TD>
                    <TD className="text-right">{m.won_count}</TD>
                    <TD className="text-right">{money(String(m.revenue), m.currency)}</TD>
                  </TR>
                ))}
              </TBody>
            </Table>
          </>
        ) : null}
      </CardContent>
    </Card>
  );
}

export default function Dashboards() {
  const { t } = useTranslation();
  return (
    <div>
      <PageHeader title={t('dashboards.title')} />
      <div className="grid items-start gap-4 xl:grid-cols-2">
        <LeadPipeline />
        <WinRateCard />
        <Pipeline />
        <WonRevenue />
      </div>
    </div>
  );
}
