/** Navigation entries and the permissions that show them (any of). */
export interface NavItem {
  to: string;
  label: string; // i18n key
  perms: string[];
}

/** Only finished screens are listed. */
export const NAV: NavItem[] = [
  { to: '/leads', label: 'nav.leads', perms: ['lead:view_own', 'lead:view_partners'] },
  { to: '/orders', label: 'nav.orders', perms: ['order:view_own', 'order:activate'] },
  { to: '/contracts', label: 'nav.contracts', perms: ['contract:view_own', 'contract:activate'] },
  { to: '/dashboards', label: 'nav.dashboards', perms: ['lead:analytics'] },
  { to: '/admin/users', label: 'nav.users', perms: ['user:manage'] },
  { to: '/admin/organisations', label: 'nav.organisations', perms: ['partner:manage', 'distributor:manage'] },
  { to: '/admin/products', label: 'nav.products', perms: ['product:manage'] },
  { to: '/integrations', label: 'nav.integrations', perms: ['provider:view'] },
  { to: '/sync', label: 'nav.sync', perms: ['job:view'] },
  { to: '/jobs', label: 'nav.jobs', perms: ['job:view'] },
];

export function visibleNav(permissions: readonly string[]): NavItem[] {
  return NAV.filter((n) => n.perms.some((p) => permissions.includes(p)));
}
