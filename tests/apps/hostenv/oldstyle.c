/* Old C, as gcc 12 takes it with warnings: an implicit int, a K&R definition, an undeclared function. */
old_style(x)
int x;
{
	return twice(x);
}
