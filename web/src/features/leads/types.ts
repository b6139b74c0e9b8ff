import type { components } from '@/api/schema';

export type Lead = components['schemas']['LeadDto'];
export type CreateLeadBody = components['schemas']['CreateLead'];
export type UpdateLeadBody = components['schemas']['UpdateLead'];
/** `GET /api/v1/leads/{id}`: the lead, where it lives in the CRM, and its activities. */
export type LeadDetail = components['schemas']['LeadDetailDto'];
export type CrmLink = components['schemas']['CrmLinkDto'];
export type Activity = components['schemas']['ActivityDto'];
export type CreateActivityBody = components['schemas']['CreateActivity'];

/** The activity types Tentabo creates (Pipedrive's default types). */
export const ACTIVITY_TYPES = ['call', 'meeting', 'task', 'deadline', 'email', 'lunch'] as const;
export type ActivityType = (typeof ACTIVITY_TYPES)[number];

export const LEAD_STATES = [
  'new',
  'contacted',
  'qualified',
  'proposal',
  'negotiation',
  'won',
  'lost',
] as const;
export type LeadState = (typeof LEAD_STATES)[number];

/** Where each event takes a lead (`convert` keeps it won and creates an order). */
export const EVENT_TARGET: Record<string, LeadState | null> = {
  contact: 'contacted',
  qualify: 'qualified',
  propose: 'proposal',
  negotiate: 'negotiation',
  win: 'won',
  lose: 'lost',
  reopen: 'new',
  convert: null,
};

/** The events that move a lead to another column (everything but `convert`). */
export function moves(lead: Pick<Lead, 'allowed_events'>): { event: string; to: LeadState }[] {
  return lead.allowed_events.flatMap((event) => {
    const to = EVENT_TARGET[event];
    return to ? [{ event, to }] : [];
  });
}

export function canConvert(lead: Pick<Lead, 'allowed_events' | 'converted_order_id'>): boolean {
  return lead.allowed_events.includes('convert') && !lead.converted_order_id;
}

export interface LeadFilters {
  q?: string;
  sort?: string;
  partner_id?: string;
}
