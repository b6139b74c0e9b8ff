import * as React from 'react';
import { useTranslation } from 'react-i18next';
import { useSearchParams } from 'react-router';
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
import { Select } from '@/components/ui/input';
import { Label } from '@/components/ui/label';
import { Table, TBody, TD, TH, THead, TR } from '@/components/ui/table';
import { Empty, ErrorMessage, Loading, PageHeader } from '@/components/page';
import { money, number } from '@/lib/format';
import {
  DASHBOARD_SOURCES,
  type DashboardSource,
  type RevenueShare,
  useLeadAnalytics,
  usePipeline,
  useRevenue,
  useWinRate,
  useWonRevenue,
} from './api';

const COLOURS = ['#1d4ed8', '#b45309', '#047857', '#7c3aed', '#be123c', '#0e7490', '#4d7c0f', '#9333ea'];
const STAGES = ['new', 'contacted', 'qualified', 'proposal', 'negotiation', 'won', 'lost'];

function pct(rate: string | number | null | undefined): string {
  if (rate == null) return '—';
  return `${(Number(rate) * 100).toFixed(1)} %`;
}

/** A month (`YYYY-MM-DD`, UTC) as a chart label or a headline: no time zone moves it back a month. */
function monthLabel(month: string, language: string, style: 'short' | 'long' = 'short'): string {
  const d = new Date(`${month.slice(0, 10)}T00:00:00Z`);
  if (Number.isNaN(d.getTime())) return month;
  return new Intl.DateTimeFormat(language === 'fr' ? 'fr-FR' : 'en-GB', { month: style, year: 'numeric', timeZone: 'UTC' }).format(d);
}

/**
 * A month's MRR movement with its direction: `+€50.00` for new and expansion, `−€185.50`
 * for contraction and churn (the API gives magnitudes), no sign when nothing moved.
 * The decimal string is only formatted, never computed with.
 */
function movement(amount: string, currency: string, sign: '+' | '−'): string {
  const magnitude = amount.trim().replace(/^[-+]/, '');
  if (/^0*\.?0*$/.test(magnitude)) return money(magnitude, currency);
  return `${sign}${money(magnitude, currency)}`;
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

/** The lake cards' empty state: Tentabo's own figures need no sync. */
function noData(t: (key: string) => string, source: DashboardSource): string {
  return source === 'tentabo' ? t('dashboards.noOwnData') : t('dashboards.noLakeData');
}

function Pipeline({ source }: { source: DashboardSource }) {
  const { t } = useTranslation();
  const q = usePipeline(source);
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
        {q.data && q.data.length === 0 ? <Empty>{noData(t, source)}</Empty> : null}
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

function WinRateCard({ source }: { source: DashboardSource }) {
  const { t } = useTranslation();
  const q = useWinRate(source);
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

function WonRevenue({ source }: { source: DashboardSource }) {
  const { t, i18n } = useTranslation();
  const q = useWonRevenue(source);
  const data = React.useMemo(() => {
    const currencies = [...new Set((q.data ?? []).map((m) => m.currency))];
    const months = [...new Set((q.data ?? []).map((m) => m.month))].sort();
    const rows = months.map((month) => {
      const row: Record<string, string | number> = { month: monthLabel(month, i18n.language) };
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
        {q.data && q.data.length === 0 ? <Empty>{noData(t, source)}</Empty> : null}
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

/** MRR and ARR per partner or distributor at the latest month; a null id is "none". */
function ShareTable({ title, none, rows }: { title: string; none: string; rows: RevenueShare[] }) {
  const { t } = useTranslation();
  return (
    <div>
      <h3 className="mb-1 text-sm font-semibold text-slate-900">{title}</h3>
      {rows.length === 0 ? (
        <Empty>{t('dashboards.noShares')}</Empty>
      ) : (
        <Table aria-label={title}>
          <THead>
            <TR>
              <TH>{t('dashboards.name')}</TH>
              <TH className="text-right">{t('dashboards.contracts')}</TH>
              <TH className="text-right">{t('dashboards.mrr')}</TH>
              <TH className="text-right">{t('dashboards.arr')}</TH>
            </TR>
          </THead>
          <TBody>
            {rows.map((r) => (
              <TR key={`${r.id ?? 'none'}-${r.currency}`}>
                <TD>{r.id == null ? none : (r.name ?? '—')}</TD>
                <TD className="text-right">{number(r.contracts)}</TD>
                <TD className="text-right">{money(r.mrr, r.currency)}</TD>
                <TD className="text-right">{money(r.arr, r.currency)}</TD>
              </TR>
            ))}
          </TBody>
        </Table>
      )}
    </div>
  );
}

function RecurringRevenue() {
  const { t, i18n } = useTranslation();
  const q = useRevenue();
  const data = React.useMemo(() => {
    const items = q.data?.months ?? [];
    const currencies = [...new Set(items.map((m) => m.currency))];
    const months = [...new Set(items.map((m) => m.month))].sort();
    const latest = months[months.length - 1];
    const rows = months.map((month) => {
      const row: Record<string, string | number> = { month: monthLabel(month, i18n.language) };
      for (const m of items) if (m.month === month) row[m.currency] = Number(m.mrr);
      return row;
    });
    return { currencies, rows, latest, headline: items.filter((m) => m.month === latest) };
  }, [q.data, i18n.language]);
  return (
    <Card>
      <CardHeader>
        <CardTitle>{t('dashboards.recurringRevenue')}</CardTitle>
        <p className="text-sm text-slate-700">{t('dashboards.recurringRevenueHint')}</p>
      </CardHeader>
      <CardContent>
        {q.isPending ? <Loading /> : null}
        <ErrorMessage error={q.error} />
        {q.data && q.data.months.length === 0 ? <Empty>{t('dashboards.noRevenue')}</Empty> : null}
        {q.data && q.data.months.length > 0 ? (
          <div className="flex flex-col gap-4">
            <div>
              <p className="text-sm text-slate-700">
                {t('dashboards.latestMonth', { month: monthLabel(data.latest ?? '', i18n.language, 'long') })}
              </p>
              {data.headline.map((m) => (
                <dl key={m.currency} className="mt-2 grid grid-cols-3 gap-3" data-testid={`revenue-latest-${m.currency}`}>
                  <div>
                    <dt className="text-xs font-semibold uppercase tracking-wide text-slate-700">{t('dashboards.mrr')}</dt>
                    <dd className="text-2xl font-semibold">{money(m.mrr, m.currency)}</dd>
                  </div>
                  <div>
                    <dt className="text-xs font-semibold uppercase tracking-wide text-slate-700">{t('dashboards.arr')}</dt>
                    <dd className="text-2xl font-semibold">{money(m.arr, m.currency)}</dd>
                  </div>
                  <div>
                    <dt className="text-xs font-semibold uppercase tracking-wide text-slate-700">{t('dashboards.contracts')}</dt>
                    <dd className="text-2xl font-semibold">{number(m.contracts)}</dd>
                  </div>
                </dl>
              ))}
            </div>
            <ChartBox label={t('dashboards.mrrByMonth')}>
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
            <Table aria-label={t('dashboards.mrrByMonth')}>
              <THead>
                <TR>
                  <TH>{t('dashboards.month')}</TH>
                  <TH>{t('dashboards.currency')}</TH>
                  <TH className="text-right">{t('dashboards.contracts')}</TH>
                  <TH className="text-right">{t('dashboards.mrr')}</TH>
                  <TH className="text-right">{t('dashboards.arr')}</TH>
                  <TH className="text-right">{t('dashboards.newMrr')}</TH>
                  <TH className="text-right">{t('dashboards.expansionMrr')}</TH>
                  <TH className="text-right">{t('dashboards.contractionMrr')}</TH>
                  <TH className="text-right">{t('dashboards.churnedMrr')}</TH>
                </TR>
              </THead>
              <TBody>
                {q.data.months.map((m) => (
                  <TR key={`${m.month}-${m.currency}`}>
                    <TD>{m.month.slice(0, 7)}</TD>
                    <TD>{m.currency}</TD>
                    <TD className="text-right">{number(m.contracts)}</TD>
                    <TD className="text-right">{money(m.mrr, m.currency)}</TD>
                    <TD className="text-right">{money(m.arr, m.currency)}</TD>
                    <TD className="text-right">{movement(m.new_mrr, m.currency, '+')}</TD>
                    <TD className="text-right">{movement(m.expansion_mrr, m.currency, '+')}</TD>
                    <TD className="text-right">{movement(m.contraction_mrr, m.currency, '−')}</TD>
                    <TD className="text-right">{movement(m.churned_mrr, m.currency, '−')}</TD>
                  </TR>
                ))}
              </TBody>
            </Table>
            <div className="grid items-start gap-4 lg:grid-cols-2">
              <ShareTable title={t('dashboards.byPartner')} none={t('dashboards.noPartner')} rows={q.data.by_partner} />
              <ShareTable title={t('dashboards.byDistributor')} none={t('dashboards.noDistributor')} rows={q.data.by_distributor} />
            </div>
          </div>
        ) : null}
      </CardContent>
    </Card>
  );
}

/** Whose leads the lake cards count, kept in the address (`?source=tentabo`). */
function useSource(): [DashboardSource, (source: string) => void] {
  const [params, setParams] = useSearchParams();
  const source = DASHBOARD_SOURCES.find((s) => s === params.get('source')) ?? 'all';
  const choose = (value: string) => {
    const next = new URLSearchParams(params);
    if (value === 'all') next.delete('source');
    else next.set('source', value);
    setParams(next, { replace: true });
  };
  return [source, choose];
}

export default function Dashboards() {
  const { t } = useTranslation();
  const [source, setSource] = useSource();
  return (
    <div>
      <PageHeader title={t('dashboards.title')} />
      <div className="flex flex-col gap-4">
        <RecurringRevenue />
        <LeadPipeline />
        <div className="flex flex-col gap-1 sm:w-72">
          <Label htmlFor="dashboard-source">{t('dashboards.source')}</Label>
          <Select
            id="dashboard-source"
            value={source}
            onChange={(e) => setSource(e.target.value)}
            aria-describedby="dashboard-source-hint"
          >
            {DASHBOARD_SOURCES.map((s) => (
              <option key={s} value={s}>
                {t(`dashboards.sources.${s}`)}
              </option>
            ))}
          </Select>
          <p id="dashboard-source-hint" className="text-xs text-slate-700">
            {t('dashboards.sourceHint')}
          </p>
        </div>
        <div className="grid items-start gap-4 xl:grid-cols-2">
          <WinRateCard source={source} />
          <Pipeline source={source} />
          <WonRevenue source={source} />
        </div>
      </div>
    </div>
  );
}
