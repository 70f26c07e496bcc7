// Stand-in addresses for names when the upstream SOCKS5 server cannot resolve (no RESOLVE, e.g.
// `ssh -D`): each name gets an address in 127.77.0.0/16, and a CONNECT to that address becomes a
// CONNECT by name. Loopback, so a packet that slips past the shim is refused on this machine.
export const FAKE_PREFIX = '127.77.';
const CAPACITY = 256 * 256 - 2; // 127.77.0.1 .. 127.77.255.254

export class FakeAddresses {
  private byName = new Map<string, string>();
  private byAddress = new Map<string, string>();

  addressFor(name: string): string {
    const key = name.toLowerCase().replace(/\.$/, '');
    let address = this.byName.get(key);
    if (address === undefined) {
      const n = this.byName.size + 1;
      if (n > CAPACITY) throw new Error('kinject ran out of stand-in addresses for names (127.77.0.0/16)');
      address = `${FAKE_PREFIX}${n >> 8}.${n & 0xff}`;
      this.byName.set(key, address);
      this.byAddress.set(address, key);
    }
    return address;
  }

  nameOf(address: string): string | undefined {
    return this.byAddress.get(address);
  }
}

export function isFakeAddress(address: string): boolean {
  return address.startsWith(FAKE_PREFIX);
}
