import { forwardRef, type ReactNode } from 'react';
import { BrowserRouter, Link as RouterLink, Route, Routes, useLocation, useNavigate } from 'react-router-dom';
import { NavMenu } from '@shopify/app-bridge-react';
import en from '@shopify/polaris/locales/en.json';
import { AppProvider, Box, Button, InlineStack, Toasts } from './ui';
import { ChartsProvider } from './ui/charts';
import { embedded } from './api/auth';
import { Dashboard } from './pages/Dashboard';
import { Campaigns } from './pages/Campaigns';
import { CampaignNew } from './pages/CampaignNew';
import { CampaignDetail } from './pages/CampaignDetail';
import { Codes } from './pages/Codes';
import { Partners } from './pages/Partners';
import { Links } from './pages/Links';
import { Conversions } from './pages/Conversions';
import { Fraud } from './pages/Fraud';
import { Experiments } from './pages/Experiments';
import { Insights } from './pages/Insights';
import { Settings } from './pages/Settings';

export const navItems: { path: string; label: string }[] = [
  { path: '/', label: 'Dashboard' },
  { path: '/campaigns', label: 'Campaigns' },
  { path: '/codes', label: 'Codes' },
  { path: '/partners', label: 'Partners & payouts' },
  { path: '/links', label: 'SmartLinks' },
  { path: '/conversions', label: 'Conversions' },
  { path: '/fraud', label: 'Fraud alerts' },
  { path: '/experiments', label: 'Experiments' },
  { path: '/insights', label: 'Insights' },
  { path: '/settings', label: 'Settings' },
];

// Polaris links go through the router (keeps ?shop= and avoids reloads).
const PolarisLink = forwardRef<HTMLAnchorElement, { url: string; children?: ReactNode; external?: boolean }>(
  function PolarisLink({ url, children, external, ...rest }, ref) {
    if (external || /^https?:/.test(url)) {
      return (
        <a href={url} ref={ref} target="_blank" rel="noreferrer" {...rest}>
          {children}
        </a>
      );
    }
    return (
      <RouterLink to={url} ref={ref} {...rest}>
        {children}
      </RouterLink>
    );
  },
);

// LocalNav is the navigation outside the Shopify admin; inside it the
// admin's own menu (NavMenu) is used.
function LocalNav() {
  const loc = useLocation();
  const nav = useNavigate();
  return (
    <Box paddingInline="400" paddingBlockStart="300">
      <nav aria-label="coupontrail">
        <InlineStack gap="100" wrap>
          {navItems.map((n) => {
            const active = n.path === '/' ? loc.pathname === '/' : loc.pathname.startsWith(n.path);
            return (
              <Button key={n.path} variant={active ? 'secondary' : 'tertiary'} pressed={active} onClick={() => nav(n.path + loc.search)}>
                {n.label}
              </Button>
            );
          })}
        </InlineStack>
      </nav>
    </Box>
  );
}

export function AppRoutes() {
  return (
    <Routes>
      <Route path="/" element={<Dashboard />} />
      <Route path="/campaigns" element={<Campaigns />} />
      <Route path="/campaigns/new" element={<CampaignNew />} />
      <Route path="/campaigns/:id" element={<CampaignDetail />} />
      <Route path="/codes" element={<Codes />} />
      <Route path="/partners" element={<Partners />} />
      <Route path="/links" element={<Links />} />
      <Route path="/conversions" element={<Conversions />} />
      <Route path="/fraud" element={<Fraud />} />
      <Route path="/experiments" element={<Experiments />} />
      <Route path="/insights" element={<Insights />} />
      <Route path="/settings" element={<Settings />} />
      <Route path="*" element={<Dashboard />} />
    </Routes>
  );
}

export function App() {
  const inAdmin = embedded();
  return (
    <AppProvider i18n={en} linkComponent={PolarisLink}>
      <ChartsProvider>
        <BrowserRouter>
          <NavMenu>
            <a href="/" rel="home">
              Dashboard
            </a>
            {navItems.slice(1).map((n) => (
              <a key={n.path} href={n.path}>
                {n.label}
              </a>
            ))}
          </NavMenu>
          {!inAdmin && <LocalNav />}
          <AppRoutes />
          <Toasts />
        </BrowserRouter>
      </ChartsProvider>
    </AppProvider>
  );
}
