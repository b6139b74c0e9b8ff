import { useQuery } from '@tanstack/react-query';
import { api } from '@/lib/api';
import { unwrap } from '@/lib/errors';

// The serving zone's figures (typed as plain objects in the OpenAPI document).
export interface PipelineFigure {
  status: string;
  owner_external_id: string;
  owner: string | null;
  currency: string;
  lead_count: number;
  value: string;
}
export interface OwnerWinRate {
  owner_external_id: string;
  owner: string | null;
  won: number;
  lost: number;
  rate: string | number | null;
}
export interface WinRate {
  won: number;
  lost: number;
  rate: string | number | null;
  by_owner: OwnerWinRate[];
}
export interface MonthRevenue {
  month: string;
  currency: string;
  won_count: number;
  revenue: string;
}

/** Contract recurring revenue for one month and currency, with the month's movements. */
export interface RevenueMonth {
  month: string;
  currency: string;
  contracts: number;
  mrr: string;
  arr: string;
  new_mrr: string;
  expansion_mrr: string;
  contraction_mrr: string;
  churned_mrr: string;
}
/** One partner's (or distributor's) contracts at the latest month; `id` null: none. */
export interface RevenueShare {
  id: string | null;
  name: string | null;
  currency: string;
  contracts: number;
  mrr: string;
  arr: string;
}
export interface RevenueDashboard {
  months: RevenueMonth[];
  by_partner: RevenueShare[];
  by_distributor: RevenueShare[];
}

/** Whose leads the lake dashboards count: all, the platform's own, or one provider's synced ones. */
export const DASHBOARD_SOURCES = ['all', 'tentabo', 'odoo', 'pipedrive'] as const;
export type DashboardSource = (typeof DASHBOARD_SOURCES)[number];

/** `all` is the API's default: no parameter is sent for it. */
function sourceQuery(source: DashboardSource) {
  return { params: { query: source === 'all' ? {} : { source } } };
}

export function usePipeline(source: DashboardSource) {
  return useQuery({
    queryKey: ['dashboard', 'pipeline', source],
    queryFn: async () =>
      (await unwrap(api.GET('/api/v1/dashboard/pipeline', sourceQuery(source)))).items as unknown as PipelineFigure[],
  });
}

export function useWinRate(source: DashboardSource) {
  return useQuery({
    queryKey: ['dashboard', 'win-rate', source],
    queryFn: async () => (await unwrap(api.GET('/api/v1/dashboard/win-rate', sourceQuery(source)))) as unknown as WinRate,
  });
}

export function useWonRevenue(source: DashboardSource) {
  return useQuery({
    queryKey: ['dashboard', 'won-revenue', source],
    queryFn: async () =>
      (await unwrap(api.GET('/api/v1/dashboard/won-revenue', sourceQuery(source)))).items as unknown as MonthRevenue[],
  });
}

/** Contract MRR and ARR per month and currency, and per partner and distributor at the latest month. */
export function useRevenue() {
  return useQuery({
    queryKey: ['dashboard', 'revenue'],
    queryFn: async () => (await unwrap(api.GET('/api/v1/dashboard/revenue'))) as unknown as RevenueDashboard,
  });
}

/** The platform's own leads per state (not the lake): counts and value. */
export function useLeadAnalytics() {
  return useQuery({
    queryKey: ['dashboard', 'lead-analytics'],
    queryFn: () => unwrap(api.GET('/api/v1/leads/analytics')),
  });
}
